// Options of AnomalyDetector.Open: where and how the model runs, at which input size, and the optional threshold.
using VcpNative.Tensors;

namespace VcpNative;

/// <summary>Where the detector computes.</summary>
public enum DetectorDevice
{
    /// <summary>The CPU (SIMD, <see cref="DetectorOptions.Threads"/> threads).</summary>
    Cpu,

    /// <summary>An NVIDIA GPU through libcuda.so.1 (and libcublas when present).</summary>
    Cuda,

    /// <summary>The GPU code path run by the PTX emulator on the CPU: slow, for tests without a GPU.</summary>
    Emulated,
}

/// <summary>Arithmetic of GPU matmuls and attention.</summary>
public enum DetectorPrecision
{
    /// <summary>fp32 everywhere (the only choice on the CPU).</summary>
    Fp32,

    /// <summary>bf16 tensor-core inputs with fp32 accumulation (<see cref="DetectorDevice.Cuda"/> or <see cref="DetectorDevice.Emulated"/>).</summary>
    Bf16,
}

/// <summary>
/// How <see cref="AnomalyDetector.Open(string, string, DetectorOptions?)"/> loads and runs a model; every member has
/// the default that <c>vcp-native infer</c> uses.
/// </summary>
public sealed record DetectorOptions
{
    /// <summary>The input size <c>infer --image-size</c> uses by default.</summary>
    public const int DefaultImageSize = 518;

    /// <summary>Where to compute; default <see cref="DetectorDevice.Cpu"/>.</summary>
    public DetectorDevice Device { get; init; } = DetectorDevice.Cpu;

    /// <summary>GPU matmul/attention arithmetic; default <see cref="DetectorPrecision.Fp32"/>.</summary>
    public DetectorPrecision Precision { get; init; } = DetectorPrecision.Fp32;

    /// <summary>
    /// Arithmetic of the image tower's transformer-block linear layers: fp32 (default), or int8 with <see cref="DetectorDevice.Cpu"/> only
    /// (<see cref="Tensors.LinearCompute.Int8"/>).
    /// </summary>
    public Tensors.LinearCompute Compute { get; init; } = Tensors.LinearCompute.Fp32;

    /// <summary>
    /// CPU threads for tensor ops and resizing: the detector's own pool; null uses the pool of the thread that opens it
    /// (one thread per core unless the host entered another). Detectors with different counts work side by side.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>Square input size in pixels (a multiple of the CLIP patch size); default <see cref="DefaultImageSize"/>.</summary>
    public int ImageSize { get; init; } = DefaultImageSize;

    /// <summary>"vcp" or "vip2"; null detects the method from the head file.</summary>
    public string? Method { get; init; }

    /// <summary>Image-score threshold: when set, <see cref="AnomalyResult.IsAnomalous"/> is score &gt; threshold.</summary>
    public double? Threshold { get; init; }

    /// <summary>A threshold.json written by <see cref="Calibrator"/> (or <c>vcp-native calibrate</c>); use instead of <see cref="Threshold"/>.</summary>
    public string? ThresholdFile { get; init; }

    /// <summary>Map value above which a pixel is anomalous in <see cref="AnomalyResult.Mask"/>; default 0.5 as in <c>infer</c>.</summary>
    public float PixelThreshold { get; init; } = 0.5f;

    /// <summary>Throws <see cref="ArgumentException"/> for values no detector can run with.</summary>
    internal void Validate()
    {
        if (ImageSize is < 1 or > 4096)
        {
            throw new ArgumentException($"image size {ImageSize} is out of range (1..4096)", nameof(ImageSize));
        }
        if (Threads is < 1)
        {
            throw new ArgumentException($"threads must be at least 1, got {Threads}", nameof(Threads));
        }
        if (Threshold is not null && ThresholdFile is not null)
        {
            throw new ArgumentException("set Threshold or ThresholdFile, not both", nameof(ThresholdFile));
        }
        if (Precision == DetectorPrecision.Bf16 && Device == DetectorDevice.Cpu)
        {
            throw new ArgumentException("bf16 runs matmuls and attention on GPU tensor cores: use it with the Cuda or Emulated device", nameof(Precision));
        }
        if (Compute == LinearCompute.Int8 && Device != DetectorDevice.Cpu)
        {
            throw new ArgumentException($"int8 compute runs on the CPU: use it with the Cpu device, not {Device}", nameof(Compute));
        }
    }

    /// <summary>The threshold in score units: <see cref="Threshold"/>, or the one read from <see cref="ThresholdFile"/>, or null.</summary>
    internal double? ResolveThreshold() =>
        ThresholdFile is { } path ? IO.Results.ThresholdFile.Load(path).Threshold : Threshold;

    /// <summary>A new backend for <see cref="Device"/> and <see cref="Precision"/>; the caller owns a GPU one.</summary>
    internal IBackend CreateBackend()
    {
        return DeviceBackends.Create(Device.ToString().ToLowerInvariant(), bf16: Precision == DetectorPrecision.Bf16);
    }
}
