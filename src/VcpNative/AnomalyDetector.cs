// The public entry point for C# users: open a CLIP + head pair once, then score images (one, or a stream in batches).
using System.Runtime.ExceptionServices;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Methods;
using VcpNative.IO.Images;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative;

/// <summary>
/// Zero-shot anomaly detection with VCP-CLIP or ViP2-CLIP: the library form of <c>vcp-native infer</c>, with the same
/// loading, preprocessing, batched inference and scores.
/// </summary>
/// <remarks>
/// <para>Thread safety: every member may be called from many threads. Calls are serialised inside (one lock per
/// detector), so concurrent callers wait for each other; for parallel throughput use batches
/// (<see cref="DetectMany(IEnumerable{string}, int, CancellationToken)"/>) or one detector per thread.
/// <see cref="Dispose"/> waits for a running call, later calls throw <see cref="ObjectDisposedException"/>, and
/// disposing twice is fine.</para>
/// <para>A DetectMany enumeration holds the lock only while a batch computes, not while the caller handles results,
/// so calling <see cref="Detect(string)"/> on the same detector inside a DetectMany loop is fine.</para>
/// <para>Errors are the typed exceptions <c>vcp-native</c> reports: <c>ModelFormatException</c> (file, offset, tensor
/// name, expected vs found) for weights, <see cref="ImageDecodeException"/> for images, <see cref="IOException"/> for
/// files, <see cref="ArgumentException"/> for bad arguments.</para>
/// </remarks>
public sealed class AnomalyDetector : IDisposable
{
    private readonly object gate = new();
    private readonly LoadedAnomalyModel model;
    private readonly Runtime runtime;
    private readonly DetectorOptions options;
    private bool disposed;

    private AnomalyDetector(LoadedAnomalyModel model, Runtime runtime, DetectorOptions options, double? threshold)
    {
        this.model = model;
        this.runtime = runtime;
        this.options = options;
        Threshold = threshold;
    }

    /// <summary>
    /// Loads CLIP (clip.safetensors from <c>convert clip</c>, or OpenAI's TorchScript .pt) and the heads (any format
    /// <c>infer --head</c> accepts) on the device named by <paramref name="options"/>; the method is detected from the
    /// head file unless <see cref="DetectorOptions.Method"/> is set.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="IOException">A file is missing or unreadable.</exception>
    public static AnomalyDetector Open(string clipPath, string headPath, DetectorOptions? options = null)
    {
        options ??= new DetectorOptions();
        options.Validate();
        // The runtime made in the next call owns the backend from here, and frees it if opening fails.
        return Open(clipPath, headPath, options.CreateBackend(), ownsBackend: true, options);
    }

    /// <summary>
    /// As <see cref="Open(string, string, DetectorOptions?)"/> on a backend the caller made and keeps owning (e.g. one
    /// GPU backend shared by several detectors); <see cref="DetectorOptions.Device"/> and
    /// <see cref="DetectorOptions.Precision"/> are ignored.
    /// </summary>
    public static AnomalyDetector Open(string clipPath, string headPath, IBackend backend, DetectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        options ??= new DetectorOptions();
        options.Validate();
        return Open(clipPath, headPath, backend, ownsBackend: false, options);
    }

    private static AnomalyDetector Open(string clipPath, string headPath, IBackend backend, bool ownsBackend, DetectorOptions options)
    {
        // The detector's own runtime: its threads (or the opening thread's pool) and, when it made it, its backend.
        var runtime = new Runtime(backend, options.Threads, ownsBackend);
        try
        {
            ArgumentException.ThrowIfNullOrEmpty(clipPath);
            ArgumentException.ThrowIfNullOrEmpty(headPath);
            var threshold = options.ResolveThreshold();
            LoadedAnomalyModel model;
            using (runtime.Enter())
            {
                model = AnomalyModelLoader.Load(clipPath, headPath, options.ImageSize, backend, options.Method);
                try
                {
                    model.UseImageBlockCompute(options.Compute);
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
            }
            return new AnomalyDetector(model, runtime, options, threshold);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>"vcp" (VCP-CLIP) or "vip2" (ViP2-CLIP).</summary>
    public string Method => model.Method;

    /// <summary>Square input size in pixels; also the side of every <see cref="AnomalyResult.Map"/>.</summary>
    public int ImageSize => model.Inference.ImageSize;

    /// <summary>The image-score threshold in use (from the options or the threshold file), or null.</summary>
    public double? Threshold { get; }

    /// <summary>The CLIP architecture read from the weights (widths, depths, patch size), or null when the method's loader did not say.</summary>
    public Models.Clip.ClipConfig? ClipConfig => model.Clip?.Config;

    /// <summary>Scores one encoded PNG, BMP, JPEG, TIFF, WebP or GIF image.</summary>
    /// <exception cref="ArgumentException"><paramref name="encodedImage"/> is empty.</exception>
    /// <exception cref="ImageDecodeException">The bytes are not a supported image, or it is too large.</exception>
    public AnomalyResult Detect(ReadOnlySpan<byte> encodedImage)
    {
        if (encodedImage.IsEmpty)
        {
            throw new ArgumentException("the encoded image is empty", nameof(encodedImage));
        }
        return DetectOne(ImageInput.FromEncoded(encodedImage.ToArray(), "encoded image"));
    }

    /// <summary>Scores one image file (PNG, BMP, JPEG, TIFF, WebP or GIF).</summary>
    /// <exception cref="IOException">The file is missing or unreadable.</exception>
    /// <exception cref="ImageDecodeException">The file is not a supported image, or it is too large.</exception>
    public AnomalyResult Detect(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return DetectOne(ImageInput.FromFile(path));
    }

    /// <summary>Scores one decoded image (it is resized to <see cref="ImageSize"/> as <c>infer</c> resizes files).</summary>
    public AnomalyResult Detect(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return DetectOne(ImageInput.FromImage(image, "image"));
    }

    /// <summary>
    /// Scores image files in batches of <paramref name="batchSize"/> through <c>infer</c>'s batched path, yielding
    /// results lazily in input order. The first input that fails ends the enumeration with its exception, after the
    /// results of the inputs before it.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<AnomalyResult> DetectMany(IEnumerable<string> paths, int batchSize = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return DetectManyChecked(paths.Select(ImageInput.FromFile), batchSize, cancellationToken);
    }

    /// <summary>As <see cref="DetectMany(IEnumerable{string}, int, CancellationToken)"/> for encoded images in memory, named "image 0", "image 1", ... in errors and results.</summary>
    public IEnumerable<AnomalyResult> DetectMany(IEnumerable<ReadOnlyMemory<byte>> encodedImages, int batchSize = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encodedImages);
        return DetectManyChecked(encodedImages.Select(EncodedInput), batchSize, cancellationToken);
    }

    /// <summary>As <see cref="DetectMany(IEnumerable{string}, int, CancellationToken)"/> for decoded images, named "image 0", "image 1", ...</summary>
    public IEnumerable<AnomalyResult> DetectMany(IEnumerable<RgbImage> images, int batchSize = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        return DetectManyChecked(images.Select((image, i) => ImageInput.FromImage(image ?? throw new ArgumentNullException(nameof(images), $"image {i} is null"), $"image {i}")),
            batchSize, cancellationToken);
    }

    /// <summary>Frees the model (and the backend when the detector made it); waits for a running call first. Safe to call twice.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            model.Dispose();
            runtime.Dispose();
        }
    }

    /// <summary>
    /// Runs <paramref name="inputs"/> through the inference loop under the lock, reporting results and failures as the
    /// loop does (failures do not stop it). The engine behind Detect, DetectMany and <see cref="Calibrator"/>.
    /// </summary>
    internal void Run(IEnumerable<ImageInput> inputs, int batchSize, Action<AnomalyResult> onResult, Action<ImageInput, Exception> onFailure,
        Action<int>? onBatchDone = null, CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            using var threads = runtime.Enter();
            var loop = new ImageInferenceLoop(model.Inference, runtime.Backend, batchSize);
            loop.Run(inputs, (item, result) => onResult(ToResult(item, result)), onFailure, onBatchDone, cancellationToken);
        }
    }

    private AnomalyResult DetectOne(ImageInput input) => RunInOrder([input], 1, CancellationToken.None)[0].Get();

    private IEnumerable<AnomalyResult> DetectManyChecked(IEnumerable<ImageInput> inputs, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ObjectDisposedException.ThrowIf(disposed, this);
        return DetectManyLazily(inputs, batchSize, cancellationToken);
    }

    private IEnumerable<AnomalyResult> DetectManyLazily(IEnumerable<ImageInput> inputs, int batchSize, CancellationToken cancellationToken)
    {
        // One batch per lock: other callers may interleave between batches, and the caller's loop body runs unlocked.
        foreach (var batch in inputs.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var outcome in RunInOrder(batch, batchSize, cancellationToken))
            {
                yield return outcome.Get();
            }
        }
    }

    /// <summary>Each input's result or failure, in input order (the loop may report a failure before earlier results).</summary>
    private Outcome[] RunInOrder(ImageInput[] inputs, int batchSize, CancellationToken cancellationToken)
    {
        var outcomes = new Outcome[inputs.Length];
        var index = new Dictionary<ImageInput, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < inputs.Length; i++)
        {
            index[inputs[i]] = i;
        }
        var next = 0;
        Run(inputs, batchSize,
            result => outcomes[NextResultSlot(outcomes, ref next)] = new Outcome(result, null),
            (input, e) => outcomes[index[input]] = new Outcome(null, ExceptionDispatchInfo.Capture(e)),
            null, cancellationToken);
        return outcomes;
    }

    /// <summary>Results arrive in input order minus the failures, which are already in their slots.</summary>
    private static int NextResultSlot(Outcome[] outcomes, ref int next)
    {
        while (outcomes[next].Failure is not null)
        {
            next++;
        }
        return next++;
    }

    private AnomalyResult ToResult(ImageInferenceItem item, AnomalyImageResult result) =>
        new(item.Input.Name, result.Score, Threshold is double t ? result.Score > t : null, result.Map, result.Size,
            item.OriginalWidth, item.OriginalHeight, options.PixelThreshold);

    private static ImageInput EncodedInput(ReadOnlyMemory<byte> bytes, int index) => bytes.IsEmpty
        ? throw new ArgumentException($"encoded image {index} is empty", "encodedImages")
        : ImageInput.FromEncoded(bytes, $"image {index}");

    private readonly record struct Outcome(AnomalyResult? Result, ExceptionDispatchInfo? Failure)
    {
        public AnomalyResult Get()
        {
            Failure?.Throw();
            return Result!;
        }
    }
}
