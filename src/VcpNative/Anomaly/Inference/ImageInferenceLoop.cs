// Decodes, preprocesses and batches image files for any IAnomalyInference, reporting each result or failure as it happens.
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Inference;

/// <summary>
/// The one image loop behind infer, eval and calibrate: dimensions are checked before any pixel allocation, a bad
/// file is reported and skipped, and every finished batch is handed to the caller before the next one starts.
/// </summary>
public sealed class ImageInferenceLoop
{
    private readonly IAnomalyInference inference;
    private readonly IBackend backend;
    private readonly int batchSize;
    private readonly ImageSizeLimits limits;

    public ImageInferenceLoop(IAnomalyInference inference, IBackend backend, int batchSize, ImageSizeLimits? limits = null)
    {
        this.inference = inference;
        this.backend = backend;
        this.batchSize = Math.Max(1, batchSize);
        this.limits = limits ?? new ImageSizeLimits();
    }

    /// <summary>Runs every file; <paramref name="onBatchDone"/> runs after each batch (e.g. to save results atomically).</summary>
    public void Run(
        IReadOnlyList<string> files,
        Action<string, RgbImage, AnomalyImageResult> onResult,
        Action<string, Exception> onFailure,
        Action<int>? onBatchDone = null)
    {
        var size = inference.ImageSize;
        var pending = new List<(string Path, RgbImage Resized, float[] Input)>();

        void Flush()
        {
            if (pending.Count == 0)
            {
                return;
            }
            var plane = 3 * size * size;
            var data = new float[pending.Count * plane];
            for (var i = 0; i < pending.Count; i++)
            {
                pending[i].Input.CopyTo(data, i * plane);
            }
            using (var scope = new TensorScope())
            {
                var images = UploadBatch(data, pending.Count, size);
                var results = inference.Run(images);
                for (var i = 0; i < pending.Count; i++)
                {
                    onResult(pending[i].Path, pending[i].Resized, results[i]);
                }
            }
            onBatchDone?.Invoke(pending.Count);
            pending.Clear();
        }

        // Decoding and preprocessing run one batch ahead on another thread, so they overlap the model's compute
        // (on a GPU backend entirely; on the CPU they take a small share of the cores). Order is kept.
        using var decoded = new System.Collections.Concurrent.BlockingCollection<Decoded>(boundedCapacity: 2 * batchSize);
        using var cancel = new CancellationTokenSource();
        var producer = Task.Run(() =>
        {
            try
            {
                foreach (var file in files)
                {
                    decoded.Add(Decode(file, size), cancel.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                decoded.CompleteAdding();
            }
        });
        try
        {
            foreach (var item in decoded.GetConsumingEnumerable())
            {
                if (item.Error is not null)
                {
                    onFailure(item.Path, item.Error);
                    continue;
                }
                pending.Add((item.Path, item.Resized!, item.Input!));
                if (pending.Count == batchSize)
                {
                    Flush();
                }
            }
            Flush();
        }
        finally
        {
            cancel.Cancel();
            producer.Wait();
        }
    }

    /// <summary>
    /// The batch as a backend tensor. On a backend with asynchronous uploads (GPU) the batch is staged in pinned memory
    /// and copied on a copy stream: the host returns at once and goes on issuing the model's kernels, which the device
    /// starts as soon as the copy lands, while the decoder thread keeps preparing the next batch. The copy does not
    /// overlap the previous batch's compute, because that batch's results are downloaded (a synchronisation) before
    /// this upload is issued. The CPU backend takes the ordinary synchronous path.
    /// </summary>
    private Tensor UploadBatch(float[] data, int count, int size)
    {
        if (backend is not IAsyncUploader uploader)
        {
            return Tensor.FromArray(data, [count, 3, size, size], backend);
        }
        var images = Tensor.Empty([count, 3, size, size], DType.F32, backend);
        uploader.UploadAsync(data, images);
        return images;
    }

    /// <summary>A decoded and preprocessed image, or the error that stopped it.</summary>
    private sealed record Decoded(string Path, RgbImage? Resized, float[]? Input, Exception? Error);

    private Decoded Decode(string file, int size)
    {
        try
        {
            var bytes = File.ReadAllBytes(file);
            limits.Check(ImageDecoder.ReadHeader(bytes, file), file);
            var image = ImageDecoder.Decode(bytes, file, limits).ToRgb();
            var resized = PillowResize.Resize(image, size, size, PillowFilter.Bicubic);
            return new Decoded(file, resized, ClipPreprocess.ToTensorData(resized, size), null);
        }
        catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException or InvalidDataException or OutOfMemoryException)
        {
            return new Decoded(file, null, null, e);
        }
    }
}
