// Shared assertion that a shape error names the op and the shapes involved, used by the op tests.
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Tensors;

public static class ShapeErrorAssert
{
    /// <summary>Runs <paramref name="call"/>, expects ShapeMismatchException for <paramref name="op"/> mentioning every fragment.</summary>
    public static void Throws(string op, Action call, params string[] fragments)
    {
        var e = Assert.Throws<ShapeMismatchException>(call);
        Assert.Equal(op, e.Op);
        Assert.Contains($"'{op}'", e.Message);
        foreach (var f in fragments)
        {
            Assert.Contains(f, e.Message);
        }
        Assert.DoesNotContain('\n', e.Message);
    }
}
