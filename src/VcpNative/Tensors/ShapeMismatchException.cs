// The one exception family for tensors whose shapes or types do not fit an op.
namespace VcpNative.Tensors;

/// <summary>Thrown when an op gets operands of incompatible shapes; the message names the op and both shapes.</summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="op"/> with a free-form detail.</summary>
    public ShapeMismatchException(string op, string detail)
        : base($"op '{op}': {detail}")
    {
        Op = op;
    }

    /// <summary>Creates the exception for <paramref name="op"/> with the two shapes that do not fit and why.</summary>
    public ShapeMismatchException(string op, ReadOnlySpan<int> first, ReadOnlySpan<int> second, string what)
        : this(op, $"{what}: {Shapes.Format(first)} vs {Shapes.Format(second)}")
    {
    }

    /// <summary>The op that rejected the shapes, e.g. "matmul".</summary>
    public string Op { get; }
}
