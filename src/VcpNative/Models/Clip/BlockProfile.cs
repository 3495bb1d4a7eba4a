// Optional wall-clock accounting of the phases of every residual block (the bench's --profile), off by default.
using System.Diagnostics;

namespace VcpNative.Models.Clip;

/// <summary>
/// Accumulated seconds per phase of <see cref="ResidualAttentionBlock.Forward"/> over all blocks since the last
/// <see cref="Reset"/>. When <see cref="Enabled"/> is false (the default) the blocks only test one flag.
/// </summary>
public static class BlockProfile
{
    public static readonly string[] PhaseNames = ["ln_1", "qkv linear", "attention", "head merge", "out proj + add", "ln_2", "mlp fc + gelu", "mlp proj + add"];

    private static readonly double[] Seconds = new double[PhaseNames.Length];

    public static bool Enabled { get; set; }

    /// <summary>
    /// Waits for queued device work (a GPU backend's synchronise) at every phase boundary while <see cref="Enabled"/>,
    /// so phases are device times, not kernel-issue times; null on the CPU. Process-wide like the rest of this class.
    /// </summary>
    public static Action? WaitForDevice { get; set; }

    public static void Reset() => Array.Clear(Seconds);

    /// <summary>Seconds spent in each phase, in <see cref="PhaseNames"/> order.</summary>
    public static double[] Snapshot() => (double[])Seconds.Clone();

    /// <summary>Adds the time since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>) to a phase and returns now.</summary>
    internal static long Lap(int phase, long start)
    {
        if (!Enabled)
        {
            return 0;
        }
        WaitForDevice?.Invoke();
        var now = Stopwatch.GetTimestamp();
        Seconds[phase] += (now - start) / (double)Stopwatch.Frequency;
        return now;
    }

    internal static long Start()
    {
        if (!Enabled)
        {
            return 0;
        }
        WaitForDevice?.Invoke();
        return Stopwatch.GetTimestamp();
    }
}
