// Deterministic lifetime for the many temporaries of a forward pass, so pooled buffers are reused.
namespace VcpNative.Tensors;

/// <summary>
/// Collects every tensor created on this thread while the scope is the innermost one, and disposes them when
/// the scope ends, except those passed to <see cref="Keep"/> (which move to the enclosing scope, if any).
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic]
    private static TensorScope? current;

    private readonly TensorScope? parent;
    private readonly List<Tensor> owned = new();
    private bool disposed;

    /// <summary>Opens a scope that becomes the innermost one on this thread.</summary>
    public TensorScope()
    {
        parent = current;
        current = this;
    }

    internal static void Register(Tensor tensor) => current?.owned.Add(tensor);

    /// <summary>Until disposed, new tensors belong to no scope (used for long-lived results such as leaf gradients).</summary>
    public static IDisposable Suspend() => new Suspension();

    private sealed class Suspension : IDisposable
    {
        private readonly TensorScope? saved = current;
        private bool done;

        public Suspension() => current = null;

        public void Dispose()
        {
            if (!done)
            {
                done = true;
                current = saved;
            }
        }
    }

    /// <summary>Keeps <paramref name="tensor"/> alive past this scope (handing it to the parent scope).</summary>
    public Tensor Keep(Tensor tensor)
    {
        var index = owned.LastIndexOf(tensor);
        if (index >= 0)
        {
            owned.RemoveAt(index);
            parent?.owned.Add(tensor);
        }
        return tensor;
    }

    /// <summary>Takes <paramref name="tensor"/> out of every scope: the caller owns it and must dispose it.</summary>
    public Tensor Detach(Tensor tensor)
    {
        var index = owned.LastIndexOf(tensor);
        if (index < 0)
        {
            throw new InvalidOperationException($"{tensor} does not belong to this scope");
        }
        owned.RemoveAt(index);
        return tensor;
    }

    /// <summary>Disposes the tensors the scope collected and makes the enclosing scope current again.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        if (current == this)
        {
            current = parent;
        }
        foreach (var t in owned)
        {
            t.Dispose();
        }
        owned.Clear();
    }
}
