// Per-stage timing of one inference launch (image tower, text + heads, post-processing), for the bench verb.
using System.Diagnostics;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Inference;

/// <summary>An inference whose <see cref="IAnomalyInference.Launch"/> reports how long each stage took.</summary>
public interface IStageTimedInference : IAnomalyInference
{
    /// <summary>
    /// Per-stage host time of the last launch (seconds): image tower, text tower + heads, post-processing. On the CPU
    /// backend this is the compute time; on a GPU it is the time to issue the kernels, and the device time shows up
    /// where the host next waits (<see cref="PendingAnomalyResults.Collect"/>).
    /// </summary>
    (double Vision, double Heads, double Post) LastTimings { get; }

    /// <summary>
    /// When set, a launch waits for the device at each stage boundary (an <see cref="IDeviceBackend"/>), so
    /// <see cref="LastTimings"/> are device times: for benchmarks; it removes the overlap of host and device work.
    /// </summary>
    bool SynchronizeStages { get; set; }
}

/// <summary>Marks stage boundaries of one launch, waiting for the device first when asked.</summary>
internal sealed class StageClock
{
    private readonly IDeviceBackend? device;
    private readonly Stopwatch clock;
    private readonly double[] marks = new double[3];
    private int count;

    /// <summary>Starts timing (after waiting for earlier device work when <paramref name="synchronize"/>).</summary>
    public StageClock(Tensor images, bool synchronize)
    {
        device = synchronize ? images.Backend as IDeviceBackend : null;
        device?.Synchronize();
        clock = Stopwatch.StartNew();
    }

    /// <summary>Ends the current stage.</summary>
    public void Mark()
    {
        device?.Synchronize();
        marks[count++] = clock.Elapsed.TotalSeconds;
    }

    /// <summary>The three stages' durations, after three marks.</summary>
    public (double Vision, double Heads, double Post) Timings => (marks[0], marks[1] - marks[0], marks[2] - marks[1]);
}
