// Pickles that try to run code must be refused before anything runs, with the offending global named.
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.WeightsConverter;

public class UnsafePickleTests
{
    private const string Marker = "/tmp/vcp_pwned_marker";

    [Theory]
    [InlineData("evil_os_system.pt", "os.system")]          // hand-written GLOBAL 'os system'
    [InlineData("evil_torch_save.pt", "posix.system")]      // what torch.save writes for os.system on Linux
    [InlineData("evil_builtins_eval.pt", "builtins.eval")]  // protocol-4 STACK_GLOBAL
    public void ForbiddenGlobalIsRefusedAndNotExecuted(string file, string global)
    {
        if (File.Exists(Marker)) File.Delete(Marker);
        var path = WeightFixtures.PathOf(file);
        var e = Assert.Throws<ModelFormatException>(() => WeightLoader.Load(path));
        Assert.Contains($"'{global}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.File);
        Assert.NotNull(e.Offset);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Marker), "the payload ran");
    }

    [Fact]
    public void OffsetPointsAtTheGlobalOpcodeInTheFile()
    {
        var path = WeightFixtures.PathOf("evil_os_system.pt");
        var e = Assert.Throws<ModelFormatException>(() => WeightLoader.Load(path));
        var bytes = File.ReadAllBytes(path);
        // The pickle is stored uncompressed, so the reported offset is where "cos\nsystem\n" starts in the file.
        Assert.Equal((byte)'c', bytes[e.Offset!.Value]);
        Assert.Equal("os\nsystem\n", System.Text.Encoding.ASCII.GetString(bytes, (int)e.Offset.Value + 1, 10));
    }
}
