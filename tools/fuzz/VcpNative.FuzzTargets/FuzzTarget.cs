// One reader under test: how it reads a byte array through the product's own entry point, which exception it documents
// for bad input, and how much it may allocate for a given input.
using System.Diagnostics;

namespace VcpNative.FuzzTargets;

/// <summary>
/// A harness target. <see cref="Read"/> calls the product entry point (a path-based reader gets the bytes through a
/// scratch file); <see cref="AllocationBound"/> is derived from what the input declares (image dimensions, file length)
/// and never exceeds <see cref="FuzzBounds.AllocationCap"/>.
/// </summary>
public sealed record FuzzTarget(
    string Name,
    string Reader,
    Action<byte[]> Read,
    IReadOnlyList<Type> Documented,
    Func<byte[], long> AllocationBound)
{
    /// <summary>Reads <paramref name="input"/> once on this thread, measuring time and allocation.</summary>
    public FuzzOutcome Run(byte[] input)
    {
        long bound = Math.Min(AllocationBound(input), FuzzBounds.AllocationCap);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Exception? thrown = null;
        try
        {
            Read(input);
        }
        catch (Exception e)
        {
            thrown = e;
        }
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        FuzzVerdict verdict = thrown is not null && !Documented.Contains(thrown.GetType()) ? FuzzVerdict.Escaped
            : allocated > bound ? FuzzVerdict.OverAllocated
            : thrown is null ? FuzzVerdict.Accepted : FuzzVerdict.Refused;
        return new FuzzOutcome(verdict, clock.Elapsed, allocated, bound, thrown);
    }

    /// <summary>Whether this target's reader took longer than the campaigns' hang bound.</summary>
    public static bool IsHang(FuzzOutcome outcome) => outcome.Elapsed > FuzzBounds.Time;
}

/// <summary>The fixed bounds every target shares.</summary>
public static class FuzzBounds
{
    /// <summary>A read longer than this is a hang (afl-fuzz -t 1000).</summary>
    public static readonly TimeSpan Time = TimeSpan.FromSeconds(1);

    /// <summary>No input may make a reader allocate more than this, whatever it declares.</summary>
    public const long AllocationCap = 512L << 20;

    /// <summary>Image size limits the image targets decode under: 4096 per side, 16 Mpixel (infer's largest model input is 1024).</summary>
    public const int MaxImageSide = 4096;

    /// <summary>See <see cref="MaxImageSide"/>.</summary>
    public const long MaxImagePixels = 4096L * 4096;
}
