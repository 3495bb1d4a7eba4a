// The emulator's profiling counters on kernels with hand-countable behaviour, occupancy arithmetic, and profile targets.
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using VcpNative.Tensors.Cuda.Profiling;
using Xunit;

namespace VcpNative.Tests.Tensors.Cuda;

public class KernelProfilerTests
{
    // Straight-line kernel with one guarded branch: lanes with tid < 8 skip the fma.
    private const string CountedPtx = """
        .version 7.0
        .target sm_80
        .address_size 64
        .visible .entry counted(.param .u64 out, .param .u64 in)
        {
            .reg .pred %p<2>;
            .reg .b32 %r<6>;
            .reg .f32 %f<4>;
            .reg .b64 %rd<6>;
            ld.param.u64 %rd1, [out];
            ld.param.u64 %rd2, [in];
            mov.u32 %r1, %tid.x;
            mul.wide.u32 %rd3, %r1, 4;
            add.s64 %rd4, %rd2, %rd3;
            ld.global.f32 %f1, [%rd4];
            setp.lt.u32 %p1, %r1, 8;
            @%p1 bra SKIP;
            fma.rn.f32 %f1, %f1, %f1, %f1;
        SKIP:
            add.s64 %rd5, %rd1, %rd3;
            st.global.f32 [%rd5], %f1;
            ret;
        }
        """;


    [Fact]
    public void Hand_written_kernel_gives_exact_instruction_counts_bytes_and_divergence()
    {
        using var gpu = new PtxEmulator { Profile = new EmulatorProfile() };
        var input = gpu.Allocate(64 * 4);
        gpu.CopyToDevice(input, new byte[64 * 4]);
        var output = gpu.Allocate(64 * 4);
        gpu.Launch(gpu.GetFunction(gpu.LoadModule(CountedPtx), "counted"), new Dim3(1), new Dim3(64), 0, [output, input]);
        var launch = Assert.Single(gpu.Profile.Launches);
        var c = launch.Counters;
        // Per warp (2 warps): 2 ld.param + ld.global + st.global; mul.wide, 2 add.s64, setp; mov; bra + ret; fma once.
        Assert.Equal(8, c.WarpInstructions[(int)InstructionClass.Memory]);
        Assert.Equal(8, c.WarpInstructions[(int)InstructionClass.Integer]);
        Assert.Equal(2, c.WarpInstructions[(int)InstructionClass.MoveConvert]);
        Assert.Equal(4, c.WarpInstructions[(int)InstructionClass.Control]);
        Assert.Equal(2, c.WarpInstructions[(int)InstructionClass.Fp32]);
        // fma runs on lanes 8..31 of warp 0 and all of warp 1; each fma is 2 flops.
        Assert.Equal(24 + 32, c.ThreadInstructions[(int)InstructionClass.Fp32]);
        Assert.Equal(2 * (24 + 32), c.Fp32Flops);
        Assert.Equal(64 * 4, c.GlobalLoadBytes);
        Assert.Equal(64 * 4, c.GlobalStoreBytes);
        // 32 consecutive floats per warp = 128 bytes = 4 sectors of 32 bytes.
        Assert.Equal(8, c.GlobalLoadSectors);
        Assert.Equal(8, c.GlobalStoreSectors);
        Assert.Equal(8, c.UniqueLoadSectors.Count);
        // Warp 0 splits at the branch (lanes 0..7 take it); warp 1 agrees (nobody takes it).
        Assert.Equal(2, c.Branches);
        Assert.Equal(1, c.DivergentBranches);
        Assert.Equal(0, c.SharedAccesses);
        // .reg: 2 predicates (not counted) + 6 b32 + 4 f32 + 6 b64 (two 32-bit registers each).
        Assert.Equal(6 + 4 + 12, launch.DeclaredRegisters);
        // Liveness by hand: the widest point is around add.s64 %rd4 (live in: rd1, rd2, rd3 (64-bit), r1 = 7;
        // after: rd1, rd3, rd4, r1 = 7). Predicates and dead .reg names do not count.
        Assert.Equal(7, launch.LiveRegisters);
    }

    [Fact]
    public void More_live_values_than_registers_is_flagged_in_the_occupancy_report()
    {
        // 300 floats loaded first and summed afterwards: all 300 are live at once after the last load.
        const int values = 300;
        var ptx = new System.Text.StringBuilder($$"""
            .version 7.0
            .target sm_80
            .address_size 64
            .visible .entry wide(.param .u64 p)
            {
                .reg .f32 %f<{{values + 2}}>;
                .reg .b64 %rd<2>;
                ld.param.u64 %rd1, [p];

            """);
        for (var i = 1; i <= values; i++)
        {
            ptx.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"    ld.global.f32 %f{i}, [%rd1+{4 * (i - 1)}];");
        }
        for (var i = 2; i <= values; i++)
        {
            ptx.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"    add.f32 %f1, %f1, %f{i};");
        }
        ptx.AppendLine("    st.global.f32 [%rd1], %f1;\n    ret;\n}");
        using var gpu = new PtxEmulator { Profile = new EmulatorProfile() };
        var buffer = gpu.Allocate(4 * values);
        gpu.CopyToDevice(buffer, new byte[4 * values]);
        gpu.Launch(gpu.GetFunction(gpu.LoadModule(ptx.ToString()), "wide"), new Dim3(1), new Dim3(32), 0, [buffer]);
        var launch = Assert.Single(gpu.Profile.Launches);
        // The pointer (2) and all 300 values are live right after the last load.
        Assert.Equal(values + 2, launch.LiveRegisters);
        var occupancy = KernelProfiler.Occupancy(launch, GpuSpec.H100);
        Assert.Equal(KernelProfiler.MaxRegistersPerThread, occupancy.RegistersPerThread);
    }

    [Fact]
    public void Values_live_around_a_loop_back_edge_count_at_every_point_of_the_loop()
    {
        // %rd1 is read only by the load at the loop head, yet stays live through the whole loop because of the back
        // edge; %f2 dies at the add; %f3 is defined after the loop and never read.
        const string loopPtx = """
            .version 7.0
            .target sm_80
            .address_size 64
            .visible .entry looped(.param .u64 p)
            {
                .reg .pred %p<2>;
                .reg .b32 %r<3>;
                .reg .f32 %f<4>;
                .reg .b64 %rd<3>;
                ld.param.u64 %rd1, [p];
                mov.f32 %f1, 0f00000000;
                mov.u32 %r1, 0;
            LOOP:
                ld.global.f32 %f2, [%rd1];
                add.f32 %f1, %f1, %f2;
                add.u32 %r1, %r1, 1;
                setp.lt.u32 %p1, %r1, 4;
                @%p1 bra LOOP;
                ld.param.u64 %rd2, [p];
                st.global.f32 [%rd2], %f1;
                mov.f32 %f3, %f1;
                ret;
            }
            """;
        using var gpu = new PtxEmulator { Profile = new EmulatorProfile() };
        var buffer = gpu.Allocate(4);
        gpu.CopyToDevice(buffer, new byte[4]);
        gpu.Launch(gpu.GetFunction(gpu.LoadModule(loopPtx), "looped"), new Dim3(1), new Dim3(1), 0, [buffer]);
        // At the add: rd1 (2, live via the back edge) + f1 + f2 + r1 = 5. Ignoring the back edge would end rd1 at
        // the load and give 4 (rd1 + f1 + r1 around the load).
        Assert.Equal(5, Assert.Single(gpu.Profile.Launches).LiveRegisters);
    }

    [Theory]
    [InlineData(1, 2)]   // conflict free: one wavefront per access (a store and a load)
    [InlineData(2, 4)]   // words 0, 2, ..., 62: two distinct words in each even bank
    [InlineData(32, 64)] // words 0, 32, ..., 992: all 32 words in bank 0
    [InlineData(33, 2)]  // an odd stride visits every bank once
    public void Shared_memory_bank_conflicts_are_counted_per_warp_access(int stride, int wavefronts)
    {
        using var gpu = new PtxEmulator { Profile = new EmulatorProfile() };
        var output = gpu.Allocate(32 * 4);
        gpu.Launch(gpu.GetFunction(gpu.LoadModule(EmulatorSanitizerTests.TestPtx("bank_conflict")), "bank_conflict"),
                   new Dim3(1), new Dim3(32), 0, [output, stride]);
        var c = Assert.Single(gpu.Profile.Launches).Counters;
        Assert.Equal(2, c.SharedAccesses);
        Assert.Equal(wavefronts, c.SharedWavefronts);
        Assert.Equal(wavefronts - 2, c.SharedBankConflictReplays);
    }

    [Fact]
    public void Profiling_off_records_nothing_and_gives_the_same_results()
    {
        float[] Run(bool profile)
        {
            using var gpu = new PtxEmulator { Profile = profile ? new EmulatorProfile() : null };
            var output = gpu.Allocate(32 * 4);
            gpu.Launch(gpu.GetFunction(gpu.LoadModule(EmulatorSanitizerTests.TestPtx("bank_conflict")), "bank_conflict"),
                       new Dim3(1), new Dim3(32), 0, [output, 3]);
            var host = new float[32];
            gpu.CopyToHost(output, System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan()));
            Assert.Equal(profile, gpu.Profile is not null && gpu.Profile.Launches.Count == 1);
            return host;
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Fact]
    public void Add_profile_moves_exactly_its_operands()
    {
        var target = KernelProfiler.Find("add");
        var report = KernelProfiler.Profile(target, [8, 1000], GpuSpec.A100);
        Assert.Equal(1.0, report.Scale);
        // Two 8000-float inputs read once, one output written once (fp32).
        Assert.Equal(2 * 8000 * 4, report.Emulated.GlobalLoadBytes);
        Assert.Equal(8000 * 4, report.Emulated.GlobalStoreBytes);
        Assert.Equal(2 * 8000 * 4 / 32, report.Emulated.UniqueLoadSectors.Count);
        Assert.Equal(8000 * 4 / 32, report.Emulated.UniqueStoreSectors.Count);
        Assert.Equal(8000, report.Emulated.Fp32Flops);
        // Memory-bound by construction: 96 kB at 1555 GB/s.
        Assert.Equal(96000 / 1555e9, report.MemorySeconds, 12);
        Assert.Equal("memory-bound", report.Bound);
    }

    [Fact]
    public void Gemm_profiles_count_the_gemm_flops_and_scale_to_the_requested_shape()
    {
        // 64 x 64 x 64 runs unscaled: fp32 flops are exactly 2 M N K (the alpha/beta epilogue adds M N multiplies).
        var simt = KernelProfiler.Profile(KernelProfiler.Find("gemm"), [64, 64, 64], GpuSpec.H100);
        Assert.Equal(1.0, simt.Scale);
        Assert.Equal((2L * 64 * 64 * 64) + (64 * 64), simt.Emulated.Fp32Flops);
        var tc = KernelProfiler.Profile(KernelProfiler.Find("gemm_tc"), [256, 64, 64], GpuSpec.H100);
        // Emulated at 128 x 64 x 64 (two 64-row blocks of four), scaled by the tile-step ratio 4 x 1 x 2 / 2 x 1 x 2 = 2.
        Assert.Equal([128, 64, 64], tc.EmulatedShape);
        Assert.Equal(2.0, tc.Scale);
        Assert.Equal(2L * 128 * 64 * 64, tc.Emulated.TensorFlops);
        Assert.Equal(0, tc.Emulated.DivergentBranches);
        var text = KernelProfiler.Format(tc);
        Assert.Contains("tensor core (mma)", text);
        Assert.Contains("real-GPU timings are still to be taken", text);
    }

    [Theory]
    [InlineData("gemm", false, false)]
    [InlineData("gemm", true, false)]
    [InlineData("gemm", false, true)]
    [InlineData("gemm", true, true)]
    [InlineData("gemm_tc", false, false)]
    [InlineData("gemm_tc", true, false)]
    [InlineData("gemm_tc", false, true)]
    [InlineData("gemm_tc", true, true)]
    public void Gemm_tiles_are_staged_with_full_sectors_and_no_bank_conflicts_in_every_operand_layout(string kernel, bool transA, bool transB)
    {
        // 64 x 64 x 64 with 64-float rows: every 32-byte sector is fully used, so an ideal kernel moves exactly
        // bytes / 32 sectors; any lane stride wastes sectors and any shared-memory bank conflict adds replays.
        var target = KernelProfiler.Find(kernel).Transposed!(transA, transB);
        var report = KernelProfiler.Profile(target, [64, 64, 64], GpuSpec.H100);
        var c = report.Emulated;
        Assert.Equal(c.GlobalLoadBytes / 32, c.GlobalLoadSectors);
        Assert.Equal(c.GlobalStoreBytes / 32, c.GlobalStoreSectors);
        Assert.Equal(0, c.SharedBankConflictReplays);
        Assert.Contains(transB ? "B[N,K]^T" : "B[K,N]", report.Target.Description);
    }

    [Fact]
    public void Occupancy_follows_the_register_and_shared_memory_granularity()
    {
        var counters = new KernelCounters();
        // 256 threads x 64 registers: 2048 registers per warp, 8 warps -> 4 blocks in 64K registers = 32 of 64 warps.
        var regs = KernelProfiler.Occupancy(new KernelLaunchRecord("k", new Dim3(1), new Dim3(256), 0, 255, counters, 64 - KernelProfiler.RegisterAllocationSlack), GpuSpec.A100);
        Assert.Equal(4, regs.BlocksPerSm);
        Assert.Equal("registers", regs.Limiter);
        Assert.Equal(0.5, regs.Occupancy, 12);
        // 48 KB + 1 KB reserved per block: 3 blocks fit in Orin's 164 KB; 3 x 4 warps of 48 = 25 %.
        var smem = KernelProfiler.Occupancy(new KernelLaunchRecord("k", new Dim3(1), new Dim3(128), 48 * 1024, 255, counters, 32 - KernelProfiler.RegisterAllocationSlack), GpuSpec.Orin);
        Assert.Equal(3, smem.BlocksPerSm);
        Assert.Equal("shared memory", smem.Limiter);
        Assert.Equal(0.25, smem.Occupancy, 12);
    }

    [Fact]
    public void Attention_profile_counts_its_kernel_and_scales_by_heads_times_queries_times_keys()
    {
        var target = KernelProfiler.Find("attention");
        // Emulated as is (one head, 40 tokens): no scaling, and the fp32 work covers at least q k^T and p v.
        var report = KernelProfiler.Profile(target, [1, 40, 16], GpuSpec.H100);
        Assert.Equal(1.0, report.Scale);
        Assert.Contains(report.Launches, l => l.Kernel == "attention_forward");
        Assert.True(report.Emulated.Fp32Flops >= 4.0 * 40 * 40 * 16, $"fp32 flops {report.Emulated.Fp32Flops}");
        // Two heads of 200 tokens are emulated as one head of 96: scale = (2 * 200^2) / (96^2).
        var scaled = KernelProfiler.Profile(target, [2, 200, 16], GpuSpec.Orin);
        Assert.Equal(2.0 * 200 * 200 / (96.0 * 96), scaled.Scale, 9);
    }
}
