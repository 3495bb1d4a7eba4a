// A backend capability: host-to-device uploads that return before the copy has finished, overlapping device work.
namespace VcpNative.Tensors;

/// <summary>
/// Implemented by backends whose memory is on a device that can copy while it computes (GpuBackend). Backend-neutral
/// code tests <c>backend is IAsyncUploader</c> and otherwise calls <see cref="IBackend.Upload"/>.
/// </summary>
public interface IAsyncUploader
{
    /// <summary>
    /// Same result as <see cref="IBackend.Upload"/>: <paramref name="source"/> may be reused as soon as this returns and
    /// every operation issued later on the backend sees the uploaded values, but the host does not wait for the copy.
    /// Call from the thread that drives the backend.
    /// </summary>
    void UploadAsync(ReadOnlySpan<float> source, Tensor dst);
}
