// The op set: shape rules, backend dispatch and backward rules for creation, view, elementwise and reduction ops.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

/// <summary>
/// Every op is declared once here (or in an <c>Ops.*.cs</c> file): it checks shapes, allocates outputs, calls the
/// backend kernel and, when gradients are wanted, records how to back-propagate.
/// </summary>
public static partial class Ops
{
    // ----- creation -----

    /// <summary>A new f32 tensor of ones with the shape and backend of <paramref name="t"/>.</summary>
    public static Tensor OnesLike(Tensor t) => Tensor.Full(t.Shape, 1f, t.Backend);

    /// <summary>A new f32 tensor of zeros with the shape and backend of <paramref name="t"/>.</summary>
    public static Tensor ZerosLike(Tensor t) => Tensor.Zeros(t.Shape, DType.F32, t.Backend);

    /// <summary>A dense F32 copy with no tape history.</summary>
    public static Tensor CopyOf(Tensor t)
    {
        var r = Tensor.Empty(t.Shape, DType.F32, t.Backend);
        t.Backend.Copy(t, r);
        return r;
    }

    /// <summary>Converts storage dtype (e.g. F32 weights to BF16 storage, or back); differentiable for float types.</summary>
    public static Tensor Cast(Tensor x, DType dtype)
    {
        var r = Tensor.Empty(x.Shape, dtype, x.Backend);
        x.Backend.Copy(x, r);
        if (Tape.ShouldRecord(x) && DTypes.IsFloat(dtype))
        {
            Tape.Record(r, "cast", [x], g => [Contiguous(g)]);
        }
        return r;
    }

    // ----- views -----

    /// <summary>Dense row-major F32 version of x (x itself, as a new view, when already dense F32).</summary>
    public static Tensor Contiguous(Tensor x)
    {
        if (x.IsContiguous && x.DType == DType.F32)
        {
            var v = x.View(x.ShapeArray, x.StridesArray, x.Offset);
            return Tape.ShouldRecord(x) ? Tape.Record(v, "contiguous", [x], g => [g]) : v;
        }
        var r = x.ToContiguousF32();
        return Tape.ShouldRecord(x) ? Tape.Record(r, "contiguous", [x], g => [g]) : r;
    }

    /// <summary>Reshape (one axis may be -1); a view when x is contiguous, else a copy.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var resolved = ResolveShape("reshape", x, shape);
        var source = x.IsContiguous ? x : x.ToContiguousF32();
        var v = source.View(resolved, Shapes.ContiguousStrides(resolved), source.Offset);
        if (!ReferenceEquals(source, x))
        {
            source.Dispose();
        }
        if (Tape.ShouldRecord(x))
        {
            var inputShape = x.ShapeArray;
            Tape.Record(v, "reshape", [x], g => [Reshape(g, inputShape)]);
        }
        return v;
    }

    private static int[] ResolveShape(string op, Tensor x, int[] shape)
    {
        var resolved = (int[])shape.Clone();
        var infer = -1;
        long known = 1;
        for (var i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (infer >= 0)
                {
                    throw new ShapeMismatchException(op, $"more than one -1 in {Shapes.Format(shape)}");
                }
                infer = i;
            }
            else
            {
                known *= resolved[i];
            }
        }
        if (infer >= 0)
        {
            if (known == 0 || x.Numel % known != 0)
            {
                throw new ShapeMismatchException(op, x.Shape, shape, "cannot infer -1 axis");
            }
            resolved[infer] = (int)(x.Numel / known);
        }
        if (Shapes.Numel(resolved) != x.Numel)
        {
            throw new ShapeMismatchException(op, x.Shape, shape, "element counts differ");
        }
        return resolved;
    }

    /// <summary>Reorders axes (a view).</summary>
    public static Tensor Permute(Tensor x, params int[] axes)
    {
        if (axes.Length != x.Rank)
        {
            throw new ShapeMismatchException("permute", x.Shape, axes, "axes count vs rank");
        }
        var shape = new int[x.Rank];
        var strides = new long[x.Rank];
        var inverse = new int[x.Rank];
        var seen = new bool[x.Rank];
        for (var i = 0; i < axes.Length; i++)
        {
            var a = Shapes.Axis("permute", axes[i], x.Rank);
            if (seen[a])
            {
                throw new ShapeMismatchException("permute", x.Shape, axes, "repeated axis");
            }
            seen[a] = true;
            shape[i] = x.Shape[a];
            strides[i] = x.Strides[a];
            inverse[a] = i;
        }
        var v = x.View(shape, strides, x.Offset);
        return Tape.ShouldRecord(x) ? Tape.Record(v, "permute", [x], g => [Permute(g, inverse)]) : v;
    }

    /// <summary>A view with axes <paramref name="axis0"/> and <paramref name="axis1"/> swapped (no copy).</summary>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        var axes = new int[x.Rank];
        for (var i = 0; i < axes.Length; i++)
        {
            axes[i] = i;
        }
        var a = Shapes.Axis("transpose", axis0, x.Rank);
        var b = Shapes.Axis("transpose", axis1, x.Rank);
        (axes[a], axes[b]) = (axes[b], axes[a]);
        return Permute(x, axes);
    }

    /// <summary>Elements [start, start+length) along <paramref name="axis"/> (a view).</summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        var a = Shapes.Axis("narrow", axis, x.Rank);
        if (start < 0 || length < 0 || start + length > x.Shape[a])
        {
            throw new ShapeMismatchException("narrow", $"range [{start}, {start + length}) out of bounds for axis {a} of {Shapes.Format(x.Shape)}");
        }
        var shape = x.ShapeArray.ToArray();
        shape[a] = length;
        var v = x.View(shape, x.StridesArray.ToArray(), x.Offset + start * x.Strides[a]);
        if (Tape.ShouldRecord(x))
        {
            var full = x.ShapeArray;
            Tape.Record(v, "narrow", [x], g =>
            {
                var gx = Tensor.Zeros(full, DType.F32, g.Backend);
                using var window = Narrow(gx, a, start, length);
                g.Backend.Copy(g, window);
                return [gx];
            });
        }
        return v;
    }

    /// <summary>Index <paramref name="index"/> of <paramref name="axis"/>, removing that axis (a view).</summary>
    public static Tensor Select(Tensor x, int axis, int index)
    {
        var a = Shapes.Axis("select", axis, x.Rank);
        using var n = Narrow(x, a, index, 1);
        var shape = new List<int>(x.ShapeArray);
        shape.RemoveAt(a);
        return Reshape(n, [.. shape]);
    }

    /// <summary>A view with a new axis of size 1 inserted at <paramref name="axis"/>.</summary>
    public static Tensor Unsqueeze(Tensor x, int axis)
    {
        var a = axis < 0 ? axis + x.Rank + 1 : axis;
        var shape = new List<int>(x.ShapeArray);
        shape.Insert(a, 1);
        return Reshape(x, [.. shape]);
    }

    /// <summary>Joins tensors along an existing axis.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts, int axis)
    {
        if (parts.Count == 0)
        {
            throw new ShapeMismatchException("concat", "no tensors given");
        }
        var first = parts[0];
        var a = Shapes.Axis("concat", axis, first.Rank);
        var shape = first.ShapeArray.ToArray();
        shape[a] = 0;
        foreach (var p in parts)
        {
            if (p.Rank != first.Rank)
            {
                throw new ShapeMismatchException("concat", first.Shape, p.Shape, "ranks differ");
            }
            for (var d = 0; d < p.Rank; d++)
            {
                if (d != a && p.Shape[d] != first.Shape[d])
                {
                    throw new ShapeMismatchException("concat", first.Shape, p.Shape, $"sizes differ on axis {d}");
                }
            }
            shape[a] += p.Shape[a];
        }
        var result = Tensor.Empty(shape, DType.F32, first.Backend);
        var offset = 0;
        var sizes = new int[parts.Count];
        for (var i = 0; i < parts.Count; i++)
        {
            sizes[i] = parts[i].Shape[a];
            using (Tape.NoGrad())
            using (var window = Narrow(result, a, offset, sizes[i]))
            {
                first.Backend.Copy(parts[i], window);
            }
            offset += sizes[i];
        }
        var inputs = new Tensor[parts.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = parts[i];
        }
        if (Tape.ShouldRecord(inputs))
        {
            Tape.Record(result, "concat", inputs, g =>
            {
                var grads = new Tensor?[sizes.Length];
                var o = 0;
                for (var i = 0; i < sizes.Length; i++)
                {
                    grads[i] = inputs[i].RequiresGrad ? Narrow(g, a, o, sizes[i]) : null;
                    o += sizes[i];
                }
                return grads;
            });
        }
        return result;
    }

    /// <summary>Broadcasts x to <paramref name="shape"/> as a stride-0 view.</summary>
    public static Tensor Expand(Tensor x, ReadOnlySpan<int> shape)
    {
        var target = shape.ToArray();
        if (target.Length < x.Rank)
        {
            throw new ShapeMismatchException("expand", x.Shape, target, "target has lower rank");
        }
        var strides = new long[target.Length];
        var lead = target.Length - x.Rank;
        for (var d = 0; d < target.Length; d++)
        {
            if (d < lead)
            {
                strides[d] = 0;
                continue;
            }
            var size = x.Shape[d - lead];
            if (size == target[d])
            {
                strides[d] = x.Strides[d - lead];
            }
            else if (size == 1)
            {
                strides[d] = 0;
            }
            else
            {
                throw new ShapeMismatchException("expand", x.Shape, target, "cannot broadcast");
            }
        }
        var v = x.View(target, strides, x.Offset);
        if (Tape.ShouldRecord(x))
        {
            var inputShape = x.ShapeArray;
            Tape.Record(v, "expand", [x], g => [SumToShape(g, inputShape)]);
        }
        return v;
    }

    /// <summary>Sums g over the axes that broadcasting added or stretched, giving a tensor of <paramref name="shape"/>.</summary>
    public static Tensor SumToShape(Tensor g, ReadOnlySpan<int> shape)
    {
        if (Shapes.SameShape(g.Shape, shape))
        {
            return g;
        }
        var padded = new int[g.Rank];
        var lead = g.Rank - shape.Length;
        for (var d = 0; d < g.Rank; d++)
        {
            padded[d] = d < lead ? 1 : shape[d - lead];
        }
        var dense = Contiguous(g);
        var reduced = Tensor.Empty(padded, DType.F32, g.Backend);
        g.Backend.SumTo(dense, reduced);
        dense.Dispose();
        var result = Reshape(reduced, shape.ToArray());
        reduced.Dispose();
        return result;
    }

    // ----- elementwise -----

    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, "add", a, b);

    /// <summary>a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, "sub", a, b);

    /// <summary>a * b elementwise, with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, "mul", a, b);

    /// <summary>a / b elementwise, with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, "div", a, b);

    /// <summary>max(a, b) elementwise, with broadcasting.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(BinaryOp.Max, "maximum", a, b);

    /// <summary>min(a, b) elementwise, with broadcasting.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(BinaryOp.Min, "minimum", a, b);

    private static Tensor Binary(BinaryOp op, string name, Tensor a, Tensor b)
    {
        CheckSameBackend(name, a, b);
        var shape = Shapes.Broadcast(name, a.Shape, b.Shape);
        var result = Tensor.Empty(shape, DType.F32, a.Backend);
        using (Tape.NoGrad())
        {
            var av = Shapes.SameShape(a.Shape, shape) && a.DType == DType.F32 ? a : ExpandF32(a, shape);
            var bv = Shapes.SameShape(b.Shape, shape) && b.DType == DType.F32 ? b : ExpandF32(b, shape);
            a.Backend.Binary(op, av, bv, result);
            if (!ReferenceEquals(av, a))
            {
                av.Dispose();
            }
            if (!ReferenceEquals(bv, b))
            {
                bv.Dispose();
            }
        }
        if (Tape.ShouldRecord(a, b))
        {
            var aShape = a.ShapeArray;
            var bShape = b.ShapeArray;
            Tape.Record(result, name, [a, b], g => op switch
            {
                BinaryOp.Add => [a.RequiresGrad ? SumToShape(g, aShape) : null, b.RequiresGrad ? SumToShape(g, bShape) : null],
                BinaryOp.Sub => [a.RequiresGrad ? SumToShape(g, aShape) : null, b.RequiresGrad ? SumToShape(Neg(g), bShape) : null],
                BinaryOp.Mul => [a.RequiresGrad ? SumToShape(Mul(g, b), aShape) : null, b.RequiresGrad ? SumToShape(Mul(g, a), bShape) : null],
                BinaryOp.Div => [a.RequiresGrad ? SumToShape(Div(g, b), aShape) : null, b.RequiresGrad ? SumToShape(Neg(Div(Mul(g, result), b)), bShape) : null],
                _ => MinMaxBackward(op, g, a, b, result),
            });
        }
        return result;
    }

    // Gradient of max/min goes to the operand that was selected (to a on ties, like torch.maximum's split is not needed here).
    private static Tensor?[] MinMaxBackward(BinaryOp op, Tensor g, Tensor a, Tensor b, Tensor result)
    {
        using var pickA = SelectedMask(a, result);
        Tensor? ga = null;
        Tensor? gb = null;
        if (a.RequiresGrad)
        {
            ga = SumToShape(Mul(g, pickA), a.Shape);
        }
        if (b.RequiresGrad)
        {
            using var pickB = Scale(Sub(pickA, Tensor.Scalar(1f, a.Backend)), -1f);
            gb = SumToShape(Mul(g, pickB), b.Shape);
        }
        _ = op;
        return [ga, gb];
    }

    /// <summary>1 where a (broadcast to the result's shape) is the value max/min selected, else 0; on the result's backend.</summary>
    private static Tensor SelectedMask(Tensor a, Tensor result)
    {
        using var expanded = Expand(a, result.Shape);
        using var dense = CopyOf(expanded);
        using var denseResult = result.IsContiguous ? null : CopyOf(result);
        var mask = Tensor.Empty(result.Shape, DType.F32, result.Backend);
        result.Backend.EqualMask(dense, denseResult ?? result, mask);
        return mask;
    }

    /// <summary>A stride-0 broadcast view of x, first converted to F32 if stored in another dtype.</summary>
    private static Tensor ExpandF32(Tensor x, int[] shape)
    {
        if (x.DType == DType.F32)
        {
            return Expand(x, shape);
        }
        using var f = x.ToContiguousF32();
        return Expand(f, shape);
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => Unary(UnaryOp.Neg, "neg", x);

    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x) => Unary(UnaryOp.Exp, "exp", x);

    /// <summary>Natural log of x.</summary>
    public static Tensor Log(Tensor x) => Unary(UnaryOp.Log, "log", x);

    /// <summary>sqrt(x).</summary>
    public static Tensor Sqrt(Tensor x) => Unary(UnaryOp.Sqrt, "sqrt", x);

    /// <summary>|x|.</summary>
    public static Tensor Abs(Tensor x) => Unary(UnaryOp.Abs, "abs", x);

    /// <summary>x^2.</summary>
    public static Tensor Square(Tensor x) => Unary(UnaryOp.Square, "square", x);

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => Unary(UnaryOp.Relu, "relu", x);

    /// <summary>1 / (1 + e^-x).</summary>
    public static Tensor Sigmoid(Tensor x) => Unary(UnaryOp.Sigmoid, "sigmoid", x);

    /// <summary>tanh(x).</summary>
    public static Tensor Tanh(Tensor x) => Unary(UnaryOp.Tanh, "tanh", x);

    /// <summary>Exact (erf) GELU, as PyTorch's nn.GELU() default.</summary>
    public static Tensor Gelu(Tensor x) => Unary(UnaryOp.Gelu, "gelu", x);

    /// <summary>x * sigmoid(1.702 x), OpenAI CLIP's activation.</summary>
    public static Tensor QuickGelu(Tensor x) => Unary(UnaryOp.QuickGelu, "quick_gelu", x);

    /// <summary>x * <paramref name="factor"/>.</summary>
    public static Tensor Scale(Tensor x, float factor) => Unary(UnaryOp.Scale, "scale", x, factor);

    /// <summary>x + <paramref name="value"/>.</summary>
    public static Tensor AddScalar(Tensor x, float value) => Unary(UnaryOp.AddScalar, "add_scalar", x, value);

    /// <summary>x ^ <paramref name="exponent"/>.</summary>
    public static Tensor Pow(Tensor x, float exponent) => Unary(UnaryOp.PowScalar, "pow", x, exponent);

    private static Tensor Unary(UnaryOp op, string name, Tensor x, float alpha = 0f)
    {
        var input = x.IsContiguous && x.DType == DType.F32 ? x : x.ToContiguousF32();
        var y = Tensor.Empty(x.Shape, DType.F32, x.Backend);
        x.Backend.Unary(op, input, y, alpha);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(y, name, [x], g =>
            {
                using var gd = g.IsContiguous ? null : g.ToContiguousF32();
                var gx = Tensor.Empty(x.Shape, DType.F32, x.Backend);
                x.Backend.UnaryBackward(op, input, y, gd ?? g, gx, alpha);
                return [gx];
            }, input);
        }
        else if (!ReferenceEquals(input, x))
        {
            input.Dispose();
        }
        return y;
    }

    // ----- reductions -----

    /// <summary>Sum over <paramref name="axes"/> (all axes when empty).</summary>
    public static Tensor Sum(Tensor x, int[]? axes = null, bool keepDim = false)
    {
        var keptShape = x.ShapeArray.ToArray();
        if (axes is null || axes.Length == 0)
        {
            Array.Fill(keptShape, 1);
        }
        else
        {
            foreach (var axis in axes)
            {
                keptShape[Shapes.Axis("sum", axis, x.Rank)] = 1;
            }
        }
        Tensor kept;
        using (Tape.NoGrad())
        {
            var dense = x.IsContiguous && x.DType == DType.F32 ? x : x.ToContiguousF32();
            kept = Tensor.Empty(keptShape, DType.F32, x.Backend);
            x.Backend.SumTo(dense, kept);
            if (!ReferenceEquals(dense, x))
            {
                dense.Dispose();
            }
        }
        Tensor result;
        if (keepDim)
        {
            result = kept;
        }
        else
        {
            var outShape = new List<int>();
            var allAxes = axes is null || axes.Length == 0;
            for (var d = 0; d < x.Rank; d++)
            {
                if (!allAxes && !IsReduced(axes!, d, x.Rank))
                {
                    outShape.Add(x.Shape[d]);
                }
            }
            using (Tape.NoGrad())
            {
                result = Reshape(kept, [.. outShape]);
            }
            kept.Dispose();
        }
        if (Tape.ShouldRecord(x))
        {
            var inputShape = x.ShapeArray;
            Tape.Record(result, "sum", [x], g =>
            {
                using var k = Reshape(g, keptShape);
                return [Contiguous(Expand(k, inputShape))];
            });
        }
        return result;
    }

    private static bool IsReduced(int[] axes, int axis, int rank)
    {
        foreach (var a in axes)
        {
            if (Shapes.Axis("sum", a, rank) == axis)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Mean over <paramref name="axes"/> (all axes when null), keeping them as size 1 when <paramref name="keepDim"/>.</summary>
    public static Tensor Mean(Tensor x, int[]? axes = null, bool keepDim = false)
    {
        long count = 1;
        if (axes is null || axes.Length == 0)
        {
            count = x.Numel;
        }
        else
        {
            foreach (var a in axes)
            {
                count *= x.Shape[Shapes.Axis("mean", a, x.Rank)];
            }
        }
        using var s = Sum(x, axes, keepDim);
        return Scale(s, 1f / count);
    }

    private static void CheckSameBackend(string op, Tensor a, Tensor b)
    {
        if (!ReferenceEquals(a.Backend, b.Backend))
        {
            throw new ShapeMismatchException(op, $"operands live on different backends ({a.Backend.Name} vs {b.Backend.Name})");
        }
    }
}
