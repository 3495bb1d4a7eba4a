// A backend capability: host-to-device uploads that return before the copy has finished, overlapping device work.
namespace VcpNative.Tensors;

/// <summary>
/// Implemented by backends whose memory is on a device that can copy while it computes (GpuBackend). Backend-neutral
/// code tests <c>backend is IAsyncUploader</c> and otherwise uses <see cref="Tensor.FromArray"/>.
/// </summary>
public interface IAsyncUploader
{
    /// <summary>
    /// A new f32 tensor of <paramref name="shape"/> with the values of <paramref name="source"/>, which may be reused as
    /// soon as this returns. Every operation issued later on the backend sees the values, but the host does not wait for
    /// the copy, and the copy does not wait for device work issued earlier that does not touch the new tensor: issue the
    /// next batch's upload before reading the current batch's results and the two overlap. Call from the thread that
    /// drives the backend.
    /// </summary>
    Tensor UploadAsync(ReadOnlySpan<float> source, ReadOnlySpan<int> shape);
}
