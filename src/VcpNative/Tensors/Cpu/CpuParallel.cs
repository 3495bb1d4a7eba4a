// Parallel loops for the CPU backend: one place that decides how many threads run an op.
namespace VcpNative.Tensors.Cpu;

/// <summary>Runs loop bodies over the configured number of CPU threads (global <c>--threads</c>).</summary>
public static class CpuParallel
{
    private static int threads = Environment.ProcessorCount;

    /// <summary>Number of worker threads ops may use; defaults to the number of cores.</summary>
    public static int Threads
    {
        get => threads;
        set => threads = value < 1 ? 1 : value;
    }

    /// <summary>Calls <paramref name="body"/> for every index in [0, count), split over <see cref="Threads"/>.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0)
        {
            return;
        }
        if (threads == 1 || count == 1)
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }

    /// <summary>Splits [0, count) into at most <see cref="Threads"/> contiguous ranges and runs <paramref name="body"/>(start, end) on each.</summary>
    public static void ForRange(int count, Action<int, int> body, int minChunk = 1)
    {
        if (count <= 0)
        {
            return;
        }
        var chunks = Math.Min(threads, Math.Max(1, count / Math.Max(1, minChunk)));
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, c =>
        {
            var start = (int)((long)count * c / chunks);
            var end = (int)((long)count * (c + 1) / chunks);
            body(start, end);
        });
    }
}
