// The one exception family for tensors whose shapes or types do not fit an op.
namespace VcpNative.Tensors;

/// <summary>Thrown when an op gets operands of incompatible shapes; the message names the op and both shapes.</summary>
public sealed class ShapeMismatchException : ArgumentException
{
    public ShapeMismatchException(string op, string detail)
        : base($"op '{op}': {detail}")
    {
        Op = op;
    }

    public ShapeMismatchException(string op, ReadOnlySpan<int> first, ReadOnlySpan<int> second, string what)
        : this(op, $"{what}: {Shapes.Format(first)} vs {Shapes.Format(second)}")
    {
    }

    public string Op { get; }
}
