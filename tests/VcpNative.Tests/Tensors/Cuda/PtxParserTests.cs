// Parser/decoder tests on small hand-written PTX: directives, registers, labels, errors reported by name and line.
using Xunit;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;

namespace VcpNative.Tests.Tensors.Cuda;

public class PtxParserTests
{
    internal const string Header = ".version 7.0\n.target sm_80\n.address_size 64\n";

    [Fact]
    public void Parses_entry_params_registers_shared_and_labels()
    {
        string ptx = Header + """
            .visible .entry k(
                .param .u64 k_param_0,
                .param .u32 k_param_1,
                .param .f32 k_param_2
            )
            {
                .reg .pred %p<2>;
                .reg .b32 %r<4>;
                .reg .f32 %f<3>;
                .reg .b64 %rd<4>;
                .shared .align 4 .b8 tile[64];
                ld.param.u64 %rd1, [k_param_0];   // comment
                ld.param.u32 %r1, [k_param_1];
                mov.u32 %r2, %tid.x;
                setp.ge.u32 %p1, %r2, %r1;
                @%p1 bra DONE;
                mul.wide.u32 %rd2, %r2, 4;
                add.s64 %rd3, %rd1, %rd2;
                cvt.rn.f32.u32 %f1, %r2;
                ld.param.f32 %f2, [k_param_2];
                mul.f32 %f1, %f1, %f2;
                st.global.f32 [%rd3], %f1;
            DONE:
                ret;
            }
            """;
        var module = PtxParser.Parse(ptx);
        Assert.Equal("7.0", module.Version);
        Assert.Equal("sm_80", module.Target);
        var fn = module.Functions["k"];
        Assert.Equal(3, fn.Params.Length);
        Assert.Equal([0, 8, 12], fn.Params.Select(p => p.Offset));
        Assert.Equal(16, fn.ParamBytes);
        Assert.Equal(64, fn.StaticSharedBytes);
        Assert.Equal(12, fn.Code.Length);
        Assert.Equal(11, fn.Code[4].Imm); // the branch resolves to the index of "ret"
        Assert.True(fn.Code[4].Guard >= 0);

        // And it runs: out[i] = i * scale for i < n.
        using var gpu = new PtxEmulator();
        var outPtr = gpu.Allocate(40 * 4);
        var f = gpu.GetFunction(gpu.LoadModule(ptx), "k");
        gpu.Launch(f, new Dim3(1), new Dim3(64), 0, [outPtr, 40, 0.5f]);
        var host = new float[40];
        gpu.CopyToHost(outPtr, host);
        for (int i = 0; i < 40; i++) Assert.Equal(i * 0.5f, host[i]); // exact: small integers times 0.5
    }

    [Theory]
    [InlineData("tex.2d.v4.f32.f32 {%f1, %f2, %f3, %f4}, [tex0, {%f1, %f2}];", "tex.2d.v4.f32.f32")]
    [InlineData("trap;", "trap")]
    [InlineData("add.sat.s32 %r1, %r1, %r1;", "add.sat.s32")]
    [InlineData("mul24.lo.s32 %r1, %r1, %r1;", "mul24.lo.s32")]
    public void Unsupported_instruction_is_reported_by_name_and_line_at_load(string instruction, string opcode)
    {
        string ptx = Header + ".visible .entry k()\n{\n.reg .b32 %r<2>;\n.reg .f32 %f<5>;\n" + instruction + "\nret;\n}\n";
        using var gpu = new PtxEmulator();
        var ex = Assert.Throws<PtxUnsupportedInstructionException>(() => gpu.LoadModule(ptx));
        Assert.Equal(opcode, ex.Opcode);
        Assert.Equal(8, ex.Line); // 3 header lines, .entry, {, two .reg lines, then the instruction
        Assert.Contains(opcode, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Undeclared_register_and_unknown_label_are_parse_errors()
    {
        var ex1 = Assert.Throws<PtxParseException>(() => PtxParser.Parse(Header + ".visible .entry k()\n{\n.reg .b32 %r<2>;\nmov.u32 %r5, 1;\nret;\n}\n"));
        Assert.Contains("%r5", ex1.Message, StringComparison.Ordinal);
        var ex2 = Assert.Throws<PtxParseException>(() => PtxParser.Parse(Header + ".visible .entry k()\n{\nbra NOWHERE;\n}\n"));
        Assert.Contains("NOWHERE", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_shipped_module_decodes()
    {
        // One embedded module per kernels/*.cu file: a new kernel file is picked up without editing a list here.
        var sources = Directory.GetFiles(Path.Combine(Fixtures.RepositoryRoot(), "kernels"), "*.cu")
            .Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(sources);
        Assert.Equal(sources, ShippedKernels.Modules.Order(StringComparer.Ordinal).ToArray());
        foreach (var name in ShippedKernels.Modules)
        {
            var module = PtxParser.Parse(ShippedKernels.LoadPtx(name));
            Assert.NotEmpty(module.Functions);
            Assert.Equal("sm_80", module.Target);
        }
    }
}
