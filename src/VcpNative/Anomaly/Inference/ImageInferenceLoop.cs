// Decodes, preprocesses and batches image files for any IAnomalyInference, reporting each result or failure as it happens.
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Anomaly.Inference;

/// <summary>
/// The one image loop behind infer, eval and calibrate: dimensions are checked before any pixel allocation, a bad
/// file is reported and skipped, and every finished batch is handed to the caller in input order. On the CPU a batch
/// is reported before the next one starts; on a GPU (an <see cref="IAsyncUploader"/> backend) the loop runs one batch
/// deep: upload batch i+1 (copy stream), read back batch i (the host waits here), issue batch i+1's kernels, so the
/// copy of each batch overlaps the compute of the one before it while the decoder thread prepares the next.
/// </summary>
public sealed class ImageInferenceLoop
{
    private readonly IAnomalyInference inference;
    private readonly IBackend backend;
    private readonly int batchSize;
    private readonly ImageSizeLimits limits;
    private readonly int pipelineCount;

    /// <summary>
    /// Runs <paramref name="inference"/> on <paramref name="backend"/> in batches of <paramref name="batchSize"/>, rejecting
    /// images over <paramref name="limits"/> (default limits when null). On the CPU backend <paramref name="inFlight"/> &gt; 1
    /// computes that many batches at once, each on an equal share of the caller's CPU threads (at least one each).
    /// </summary>
    public ImageInferenceLoop(IAnomalyInference inference, IBackend backend, int batchSize, ImageSizeLimits? limits = null, int inFlight = 1)
    {
        this.inference = inference;
        this.backend = backend;
        this.batchSize = Math.Max(1, batchSize);
        this.limits = limits ?? new ImageSizeLimits();
        pipelineCount = backend is IDeviceBackend ? 1 : Math.Max(1, inFlight);
    }

    /// <summary>Runs every file; <paramref name="onBatchDone"/> runs after each batch (e.g. to save results atomically).</summary>
    public void Run(
        IReadOnlyList<string> files,
        Action<string, RgbImage, AnomalyImageResult> onResult,
        Action<string, Exception> onFailure,
        Action<int>? onBatchDone = null) =>
        Run(files.Select(ImageInput.FromFile),
            (item, result) => onResult(item.Input.Name, item.Resized, result),
            (input, e) => onFailure(input.Name, e),
            onBatchDone);

    /// <summary>
    /// Runs every input (files, encoded bytes or decoded images; <paramref name="inputs"/> is enumerated on a decoder
    /// thread). Results and failures are reported in input order; <paramref name="cancellationToken"/> stops the loop
    /// between images with an <see cref="OperationCanceledException"/>.
    /// </summary>
    public void Run(
        IEnumerable<ImageInput> inputs,
        Action<ImageInferenceItem, AnomalyImageResult> onResult,
        Action<ImageInput, Exception> onFailure,
        Action<int>? onBatchDone = null,
        CancellationToken cancellationToken = default)
    {
        var size = inference.ImageSize;
        var pending = new List<BatchItem>();
        // A batch whose device work has been issued and whose results have not been read (asynchronous backends only).
        InFlightBatch? inFlight = null;
        var uploader = backend as IAsyncUploader;
        // CPU pipelines (inFlight > 1): batches computing on them, oldest first; reported in this order.
        using var pipelines = pipelineCount > 1 ? new CpuPipelines(pipelineCount, Math.Max(1, CpuThreadPool.Current.Threads / pipelineCount)) : null;
        var computing = new Queue<(BatchItem[] Items, CpuPipelines.Job Job)>();

        void CompleteOldest()
        {
            var (items, job) = computing.Dequeue();
            var results = job.Wait();
            for (var i = 0; i < items.Length; i++)
            {
                onResult(items[i].Item, results[i]);
            }
            onBatchDone?.Invoke(items.Length);
        }

        void CompleteComputing()
        {
            while (computing.Count > 0)
            {
                CompleteOldest();
            }
        }

        void Complete(InFlightBatch batch)
        {
            AnomalyImageResult[] results;
            using (batch.Results)
            {
                results = batch.Results.Collect();
            }
            for (var i = 0; i < batch.Items.Length; i++)
            {
                onResult(batch.Items[i].Item, results[i]);
            }
            onBatchDone?.Invoke(batch.Items.Length);
        }

        void CompleteInFlight()
        {
            if (inFlight is { } batch)
            {
                inFlight = null;
                Complete(batch);
            }
        }

        void Flush()
        {
            if (pending.Count == 0)
            {
                return;
            }
            var items = pending.ToArray();
            pending.Clear();
            var plane = 3 * size * size;
            var data = new float[items.Length * plane];
            for (var i = 0; i < items.Length; i++)
            {
                items[i].Tensor.CopyTo(data, i * plane);
            }
            int[] shape = [items.Length, 3, size, size];
            if (pipelines is not null)
            {
                computing.Enqueue((items, pipelines.Submit(() =>
                {
                    using var images = Tensor.FromArray(data, shape, backend);
                    using var results = inference.Launch(images);
                    return results.Collect();
                })));
                if (computing.Count == pipelines.Count)
                {
                    CompleteOldest();
                }
                return;
            }
            if (uploader is null)
            {
                using var images = Tensor.FromArray(data, shape, backend);
                Complete(new InFlightBatch(items, inference.Launch(images)));
                return;
            }
            // Asynchronous backend: this batch's copy is queued while the previous batch still computes; only then
            // does the host wait for the previous results, and then it queues this batch's kernels.
            Tensor uploaded;
            try
            {
                uploaded = uploader.UploadAsync(data, shape);
            }
            catch
            {
                CompleteInFlight(); // the finished batch is still reported before the failure propagates
                throw;
            }
            using var upload = uploaded;
            CompleteInFlight();
            inFlight = new InFlightBatch(items, inference.Launch(uploaded));
        }

        // Decoding and preprocessing run one batch ahead on another thread, so they overlap the model's compute
        // (on a GPU backend entirely; on the CPU they take a small share of the cores). Order is kept.
        using var decoded = new System.Collections.Concurrent.BlockingCollection<Decoded>(boundedCapacity: 2 * batchSize);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workers = DecodeWorkers(backend, batchSize);
        var threads = CpuThreadPool.Current; // the caller's CPU threads resize on the decoding thread too
        var producer = Task.Run(() =>
        {
            using var threadScope = threads.Enter();
            try
            {
                // Chunks of `workers` files decode in parallel and are handed on in order (memory stays bounded).
                foreach (var chunk in inputs.Chunk(workers))
                {
                    var results = new Decoded[chunk.Length];
                    Parallel.For(0, chunk.Length, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancel.Token },
                                 i => results[i] = Decode(chunk[i], size));
                    foreach (var result in results)
                    {
                        decoded.Add(result, cancel.Token);
                    }
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
            foreach (var item in decoded.GetConsumingEnumerable(cancellationToken))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (item.Error is not null)
                {
                    // Batches already sent to CPU pipelines come first, as they would one batch at a time.
                    CompleteComputing();
                    onFailure(item.Input, item.Error);
                    continue;
                }
                pending.Add(new BatchItem(item.Item!, item.Tensor!));
                if (pending.Count == batchSize)
                {
                    Flush();
                }
            }
            Flush();
            CompleteInFlight();
            CompleteComputing();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            CompleteInFlight(); // a cancelled run still reports the batch whose device work was already issued
            CompleteComputing(); // and the batches its CPU pipelines were computing
            throw;
        }
        finally
        {
            // Only reached with a batch in flight when something threw: its device results are dropped, not reported.
            inFlight?.Results.Dispose();
            cancel.Cancel();
            producer.Wait();
        }
    }

    private sealed record BatchItem(ImageInferenceItem Item, float[] Tensor);

    private readonly record struct InFlightBatch(BatchItem[] Items, PendingAnomalyResults Results);

    /// <summary>A decoded and preprocessed image, or the error that stopped it.</summary>
    /// <summary>
    /// Threads that decode images: one on the CPU backend (its cores compute), all cores but one on a device backend,
    /// where decoding is the host's main work and one thread cannot keep a GPU busy (the H200 check: 32 PNGs of 640x480
    /// took 0.5-0.6 s per batch on one thread, against 1.3 s for ViT-L/14's image tower in fp32).
    /// </summary>
    public static int DecodeWorkers(IBackend backend, int batchSize) =>
        backend is IDeviceBackend ? Math.Clamp(Environment.ProcessorCount - 1, 1, Math.Max(1, batchSize)) : 1;

    private sealed record Decoded(ImageInput Input, ImageInferenceItem? Item, float[]? Tensor, Exception? Error);

    private Decoded Decode(ImageInput input, int size)
    {
        try
        {
            var image = input.Decode(limits).ToRgb();
            var resized = PillowResize.Resize(image, size, size, PillowFilter.Bicubic);
            var item = new ImageInferenceItem(input, image, resized);
            return new Decoded(input, item, ClipPreprocess.ToTensorData(resized, size), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any error of one input (a decoder bug included) is that input's failure; it never ends the run.
            return new Decoded(input, null, null, e);
        }
    }
}
