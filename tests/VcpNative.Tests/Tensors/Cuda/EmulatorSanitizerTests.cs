// Sanitizer behaviour of the emulator (out-of-bounds, uninitialised shared reads, deadlocks) and warp-level semantics.
using Xunit;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;

namespace VcpNative.Tests.Tensors.Cuda;

public class EmulatorSanitizerTests
{
    internal static string TestPtx(string name)
    {
        // Test-only PTX is built by kernels/build-ptx.sh next to this file; find it from the test binary upwards.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "tests", "VcpNative.Tests", "Tensors", "Cuda", "TestPtx", name + ".ptx");
            if (File.Exists(path)) return File.ReadAllText(path);
        }
        throw new FileNotFoundException($"test PTX {name}.ptx not found above {AppContext.BaseDirectory}");
    }

    private static void Run(PtxEmulator gpu, string ptx, string kernel, Dim3 grid, Dim3 block, int shared, params KernelArg[] args) =>
        gpu.Launch(gpu.GetFunction(gpu.LoadModule(ptx), kernel), grid, block, shared, args);

    [Fact]
    public void Planted_out_of_bounds_write_names_block_and_thread()
    {
        using var gpu = new PtxEmulator();
        const int n = 300;
        var p = gpu.Allocate(n * 4);
        var ex = Assert.Throws<PtxMemoryViolationException>(() =>
            Run(gpu, TestPtx("oob_write"), "oob_write", new Dim3(3), new Dim3(128), 0, p, n, 2, 5));
        Assert.Equal(PtxViolationKind.OutOfBounds, ex.Kind);
        Assert.Equal(new Dim3(2, 0, 0), ex.Block); // indices, so y and z are 0
        Assert.Equal(new Dim3(5, 0, 0), ex.Thread);
        Assert.Equal(p.Address + n * 4, ex.Address);
        Assert.Equal("global", ex.Space);
        Assert.True(ex.IsWrite);
        Assert.Contains("oob_write", ex.Message, StringComparison.Ordinal);

        // The same kernel with the planted thread outside the grid writes in bounds and completes.
        Run(gpu, TestPtx("oob_write"), "oob_write", new Dim3(3), new Dim3(128), 0, p, n, 7, 0);
        var host = new float[n];
        gpu.CopyToHost(p, host);
        Assert.Equal(299f, host[299]);
    }

    private const string Header = PtxParserTests.Header;

    [Fact]
    public void Reading_uninitialised_shared_memory_is_flagged()
    {
        // Thread t writes tile[t] and then reads tile[t + 1] after the barrier: the last thread reads a never-written word.
        string ptx = Header + """
            .visible .entry k(.param .u64 k_param_0)
            {
                .reg .b32 %r<4>;
                .reg .f32 %f<2>;
                .reg .b64 %rd<4>;
                .shared .align 4 .b8 tile[256];
                mov.u32 %r1, %tid.x;
                cvt.rn.f32.u32 %f1, %r1;
                mul.wide.u32 %rd1, %r1, 4;
                mov.u64 %rd2, tile;
                add.s64 %rd3, %rd2, %rd1;
                st.shared.f32 [%rd3], %f1;
                bar.sync 0;
                ld.shared.f32 %f1, [%rd3+4];
                ret;
            }
            """;
        using var gpu = new PtxEmulator();
        var ex = Assert.Throws<PtxMemoryViolationException>(() => Run(gpu, ptx, "k", new Dim3(1), new Dim3(40), 0, DevicePtr.Null));
        Assert.Equal(PtxViolationKind.UninitializedSharedRead, ex.Kind);
        Assert.Equal(new Dim3(39, 0, 0), ex.Thread);
        Assert.Equal("shared", ex.Space);
        Assert.Equal(160UL, ex.Address);
    }

    [Fact]
    public void Barrier_inside_divergent_code_deadlocks_loudly_when_a_warp_waits_on_a_shuffle()
    {
        // Lane 0 skips the shuffle; lanes 1..31 wait for it forever.
        string ptx = Header + """
            .visible .entry k()
            {
                .reg .pred %p<2>;
                .reg .b32 %r<4>;
                mov.u32 %r1, %tid.x;
                setp.eq.u32 %p1, %r1, 0;
                @%p1 bra DONE;
                shfl.sync.bfly.b32 %r2, %r1, 1, 31, -1;
            DONE:
                ret;
            }
            """;
        using var gpu = new PtxEmulator();
        var ex = Assert.Throws<PtxExecutionException>(() => Run(gpu, ptx, "k", new Dim3(1), new Dim3(32), 0));
        Assert.Contains("deadlock", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shuffles_votes_and_atomics_follow_ptx_semantics()
    {
        // out[t] = shfl.down(t, 3) (clamped at 31), out[32 + t] = ballot(t odd), out[64] = atomic sum of tids (shared then global).
        string ptx = Header + """
            .visible .entry k(.param .u64 k_param_0)
            {
                .reg .pred %p<3>;
                .reg .b32 %r<12>;
                .reg .b64 %rd<8>;
                .shared .align 4 .b8 acc[4];
                ld.param.u64 %rd1, [k_param_0];
                mov.u32 %r1, %tid.x;
                shfl.sync.down.b32 %r2|%p1, %r1, 3, 31, -1;
                mul.wide.u32 %rd2, %r1, 4;
                add.s64 %rd3, %rd1, %rd2;
                st.global.u32 [%rd3], %r2;
                and.b32 %r3, %r1, 1;
                setp.ne.u32 %p2, %r3, 0;
                vote.sync.ballot.b32 %r4, %p2, -1;
                st.global.u32 [%rd3+128], %r4;
                setp.eq.u32 %p2, %r1, 0;
                mov.u64 %rd4, acc;
                mov.u32 %r5, 0;
                @%p2 st.shared.u32 [%rd4], %r5;
                bar.sync 0;
                atom.shared.add.u32 %r6, [%rd4], %r1;
                bar.sync 0;
                @!%p2 bra DONE;
                ld.shared.u32 %r7, [%rd4];
                red.global.add.u32 [%rd1+256], %r7;
            DONE:
                ret;
            }
            """;
        using var gpu = new PtxEmulator();
        var p = gpu.Allocate(65 * 4);
        gpu.Memset(p, 0, 65 * 4);
        Run(gpu, ptx, "k", new Dim3(2), new Dim3(32), 0, p);
        var host = new uint[65];
        gpu.CopyToHost(p, host);
        for (uint t = 0; t < 32; t++)
        {
            Assert.Equal(t + 3 <= 31 ? t + 3 : t, host[t]);
            Assert.Equal(0xAAAAAAAAu, host[32 + t]);
        }
        Assert.Equal(2u * (31 * 32 / 2), host[64]); // two blocks each add 0 + 1 + ... + 31
    }

    [Fact]
    public void Host_copies_outside_allocations_and_bad_arguments_fail_with_one_line()
    {
        using var gpu = new PtxEmulator();
        var p = gpu.Allocate(16);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => gpu.CopyToDevice(p, new float[5]));
        Assert.DoesNotContain('\n', ex.Message.Split(" (Parameter")[0]);
        var module = gpu.LoadModule(ShippedKernels.LoadPtx("elementwise"));
        var fill = gpu.GetFunction(module, "fill_f32");
        var bad = Assert.Throws<PtxExecutionException>(() => gpu.Launch(fill, new Dim3(1), new Dim3(32), 0, [p, 1f, 4])); // n must be .u64
        Assert.Contains("argument 2", bad.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => gpu.GetFunction(module, "no_such_kernel"));
    }
}
