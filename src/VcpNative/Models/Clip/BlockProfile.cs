// Optional wall-clock accounting of the phases of every residual block (the bench's --profile), off unless entered.
using System.Diagnostics;

namespace VcpNative.Models.Clip;

/// <summary>
/// Accumulated seconds per phase of <see cref="ResidualAttentionBlock.Forward"/> over the blocks that ran on a thread
/// while this profile was entered there (<see cref="Enter"/>). Blocks run on a thread with no profile entered only
/// test one thread-local field.
/// </summary>
/// <param name="waitForDevice">
/// Waits for queued device work (a GPU backend's synchronise) at every phase boundary, so phases are device times,
/// not kernel-issue times; null on the CPU.
/// </param>
public sealed class BlockProfile(Action? waitForDevice = null)
{
    /// <summary>Names of the phases of a residual block, in order.</summary>
    public static readonly string[] PhaseNames = ["ln_1", "qkv linear", "attention", "head merge", "out proj + add", "ln_2", "mlp fc + gelu", "mlp proj + add"];

    [ThreadStatic]
    private static BlockProfile? current;

    private readonly double[] seconds = new double[PhaseNames.Length];
    private readonly Action? waitForDevice = waitForDevice;

    /// <summary>Profiles the blocks that run on the calling thread until the returned scope is disposed.</summary>
    public Scope Enter()
    {
        var previous = current;
        current = this;
        return new Scope(previous);
    }

    /// <summary>Restores the thread's previous profile (or none).</summary>
    public readonly struct Scope(BlockProfile? previous) : IDisposable
    {
        /// <summary>Restores the profile that was entered before.</summary>
        public void Dispose() => current = previous;
    }

    /// <summary>Sets every phase's seconds to zero.</summary>
    public void Reset() => Array.Clear(seconds);

    /// <summary>Seconds spent in each phase, in <see cref="PhaseNames"/> order.</summary>
    public double[] Snapshot() => (double[])seconds.Clone();

    /// <summary>Adds the time since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>) to a phase and returns now.</summary>
    internal static long Lap(int phase, long start)
    {
        var profile = current;
        if (profile is null)
        {
            return 0;
        }
        profile.waitForDevice?.Invoke();
        var now = Stopwatch.GetTimestamp();
        profile.seconds[phase] += (now - start) / (double)Stopwatch.Frequency;
        return now;
    }

    internal static long Start()
    {
        var profile = current;
        if (profile is null)
        {
            return 0;
        }
        profile.waitForDevice?.Invoke();
        return Stopwatch.GetTimestamp();
    }
}
