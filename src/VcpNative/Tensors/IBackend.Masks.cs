// Backend entry point of the comparison mask behind max/min gradients.
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// mask = 1 where a == b, else 0; a, b and mask are contiguous F32 tensors of one shape on this backend. The default
    /// compares on the host (download, compare, upload) for backends without a comparison kernel.
    /// </summary>
    void EqualMask(Tensor a, Tensor b, Tensor mask)
    {
        var av = new float[a.Numel];
        var bv = new float[b.Numel];
        Download(a, av);
        Download(b, bv);
        Tensors.EqualMask.Compare(av, bv, av);
        Upload(av, mask);
    }
}

/// <summary>The element rule of <see cref="IBackend.EqualMask"/>, shared by the host paths.</summary>
public static class EqualMask
{
    /// <summary>mask[i] = a[i] == b[i] ? 1 : 0 (mask may alias a).</summary>
    public static void Compare(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> mask)
    {
        for (var i = 0; i < mask.Length; i++)
        {
            mask[i] = a[i] == b[i] ? 1f : 0f;
        }
    }
}
