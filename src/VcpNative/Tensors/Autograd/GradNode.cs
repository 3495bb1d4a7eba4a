// One recorded op on the tape: its inputs and how to turn the output gradient into input gradients.
namespace VcpNative.Tensors.Autograd;

/// <summary>
/// Computes input gradients from the output gradient. Entry i of the result is the gradient for input i, or null
/// when that input does not require a gradient (the closure must skip that work, e.g. frozen weights).
/// </summary>
internal delegate Tensor?[] BackwardFunction(Tensor gradOutput);

/// <summary>A tape entry created by an op whose inputs require gradients.</summary>
internal sealed class GradNode
{
    private Tensor[]? saved;

    /// <summary>
    /// Creates the node and takes a storage reference on every tensor the backward function reads, so that a
    /// caller disposing those tensors early cannot let the pool hand their memory to another op before backward.
    /// </summary>
    public GradNode(string op, Tensor[] inputs, BackwardFunction backward, Tensor[] saved)
    {
        Op = op;
        Inputs = inputs;
        Backward = backward;
        this.saved = saved;
        foreach (var t in saved)
        {
            t.Storage.AddReference();
        }
    }

    /// <summary>Drops the saved-tensor references once backward has used them.</summary>
    public void ReleaseSaved()
    {
        var s = Interlocked.Exchange(ref saved, null);
        if (s is null)
        {
            return;
        }
        foreach (var t in s)
        {
            t.Storage.Release();
        }
    }

    public string Op { get; }

    public Tensor[] Inputs { get; }

    public BackwardFunction Backward { get; }
}
