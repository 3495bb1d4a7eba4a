// Reverse-mode automatic differentiation over the graph recorded by ops.
namespace VcpNative.Tensors.Autograd;

/// <summary>
/// Records ops only while gradients are wanted (some input requires grad and no <see cref="NoGrad"/> scope
/// is active) and runs them backwards in reverse topological order, summing gradients of shared tensors.
/// </summary>
public static class Tape
{
    [ThreadStatic]
    private static int noGradDepth;

    /// <summary>True when ops should record tape nodes on this thread.</summary>
    public static bool IsRecording => noGradDepth == 0;

    /// <summary>Disables recording until disposed (inference, frozen image tower).</summary>
    public static IDisposable NoGrad() => new NoGradScope();

    internal static bool ShouldRecord(Tensor a) => noGradDepth == 0 && a.RequiresGrad;

    internal static bool ShouldRecord(Tensor a, Tensor b) => noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    internal static bool ShouldRecord(ReadOnlySpan<Tensor?> inputs)
    {
        if (noGradDepth != 0)
        {
            return false;
        }
        foreach (var t in inputs)
        {
            if (t is not null && t.RequiresGrad)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Attaches a backward function to <paramref name="output"/>. The inputs and the output are kept alive for
    /// backward; <paramref name="extraSaved"/> lists any other tensor the backward function reads.
    /// </summary>
    internal static Tensor Record(Tensor output, string op, Tensor[] inputs, BackwardFunction backward, params Tensor[] extraSaved)
    {
        var saved = new Tensor[inputs.Length + 1 + extraSaved.Length];
        inputs.CopyTo(saved, 0);
        saved[inputs.Length] = output;
        extraSaved.CopyTo(saved, inputs.Length + 1);
        output.RequiresGrad = true;
        output.GradFn = new GradNode(op, inputs, backward, saved);
        return output;
    }

    internal static void Backward(Tensor root, Tensor? seed)
    {
        if (!root.RequiresGrad)
        {
            throw new InvalidOperationException($"backward: {root} does not require a gradient (no recorded op leads to it)");
        }
        if (seed is null && root.Numel != 1)
        {
            throw new ShapeMismatchException("backward", $"implicit seed needs a scalar output, got {Shapes.Format(root.Shape)}");
        }
        if (seed is not null && !Shapes.SameShape(seed.Shape, root.Shape))
        {
            throw new ShapeMismatchException("backward", seed.Shape, root.Shape, "seed gradient shape vs output shape");
        }

        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        using var scope = new TensorScope();
        grads[root] = seed ?? Ops.OnesLike(root);
        using (NoGrad())
        {
            for (var i = order.Count - 1; i >= 0; i--)
            {
                var node = order[i];
                if (!grads.Remove(node, out var gradOut))
                {
                    continue;
                }
                if (node.GradFn is null)
                {
                    AccumulateLeaf(node, gradOut);
                    continue;
                }
                var inputGrads = node.GradFn.Backward(gradOut);
                var inputs = node.GradFn.Inputs;
                // The graph is consumed (as PyTorch without retain_graph): free what backward kept alive.
                node.GradFn.ReleaseSaved();
                for (var k = 0; k < inputs.Length; k++)
                {
                    var g = inputGrads[k];
                    var input = inputs[k];
                    if (g is null || !input.RequiresGrad)
                    {
                        continue;
                    }
                    if (!Shapes.SameShape(g.Shape, input.Shape))
                    {
                        throw new ShapeMismatchException(node.GradFn.Op + ".backward", g.Shape, input.Shape, "gradient shape vs input shape");
                    }
                    grads[input] = grads.TryGetValue(input, out var existing) ? Ops.Add(existing, g) : g;
                }
            }
        }
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor grad)
    {
        using var outside = TensorScope.Suspend();
        if (leaf.Grad is null)
        {
            leaf.Grad = grad.IsContiguous && grad.DType == DType.F32 ? Ops.CopyOf(grad) : grad.ToContiguousF32();
        }
        else
        {
            var sum = Ops.Add(leaf.Grad, grad);
            leaf.Grad.Dispose();
            leaf.Grad = sum;
        }
    }

    /// <summary>Nodes reachable from root, parents after children (iterative DFS: deep graphs must not overflow the stack).</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Node, int Next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            var inputs = node.GradFn?.Inputs;
            if (inputs is not null && next < inputs.Length)
            {
                stack.Push((node, next + 1));
                var child = inputs[next];
                if (child.RequiresGrad && visited.Add(child))
                {
                    stack.Push((child, 0));
                }
                continue;
            }
            order.Add(node);
        }
        // order has children before parents; Backward walks it from the end (root first).
        return order;
    }

    private sealed class NoGradScope : IDisposable
    {
        private bool done;

        public NoGradScope() => noGradDepth++;

        public void Dispose()
        {
            if (!done)
            {
                done = true;
                noGradDepth--;
            }
        }
    }
}
