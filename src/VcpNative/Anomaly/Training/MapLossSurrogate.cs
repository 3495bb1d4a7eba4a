// Back-propagation of full-resolution map losses one map at a time, shared by the VCP-CLIP and ViP2-CLIP trainers.
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Training;

/// <summary>
/// Each map's loss is differentiated on its own down to the map (its full-size temporaries are freed before the next
/// map); the surrogate sum_maps &lt;map, dLoss/dmap&gt; (plus any other scalar terms) then has exactly the gradient of the
/// summed loss with respect to everything upstream of the maps, with a fraction of the peak memory at 518 px.
/// </summary>
public sealed class MapLossSurrogate
{
    private Tensor? surrogate;

    /// <summary>Evaluates <paramref name="loss"/> on a detached copy of <paramref name="map"/>, seeds the surrogate, returns the loss value.</summary>
    public float Add(Tensor map, Func<Tensor, Tensor> loss)
    {
        Tensor gradient;
        float value;
        using (var scope = new TensorScope())
        {
            var leaf = map.Detach();
            leaf.RequiresGrad = true;
            var l = loss(leaf);
            l.Backward();
            value = l.Item();
            gradient = leaf.Grad!;          // created outside any scope by the tape
            leaf.Grad = null;
        }
        var term = Ops.Sum(Ops.Mul(map, gradient));
        gradient.Dispose();
        AddTerm(term);
        return value;
    }

    /// <summary>Adds a scalar loss term that is back-propagated as it is (e.g. an image-level loss).</summary>
    public void AddTerm(Tensor scalar) => surrogate = surrogate is null ? scalar : Ops.Add(surrogate, scalar);

    /// <summary>One backward through everything added.</summary>
    public void Backward()
    {
        if (surrogate is null)
        {
            throw new InvalidOperationException("no loss was added");
        }
        surrogate.Backward();
    }
}
