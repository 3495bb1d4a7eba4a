// Progress for long batch jobs: a live Spectre.Console bar on a terminal, plain lines when output is redirected.
using System.Diagnostics;
using Spectre.Console;

namespace VcpNative.Cli;

/// <summary>Counts finished items and shows throughput; disposing it ends the display.</summary>
public sealed class ProgressReporter : IDisposable
{
    private readonly TextWriter log;
    private readonly string label;
    private readonly int total;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly ProgressContextHost? live;
    private int done;
    private double lastPrinted;

    public ProgressReporter(string label, int total, TextWriter log)
    {
        this.label = label;
        this.total = total;
        this.log = log;
        if (!Console.IsErrorRedirected && !Console.IsOutputRedirected && ReferenceEquals(log, Console.Error))
        {
            live = new ProgressContextHost(label, total);
        }
    }

    public double ItemsPerSecond => done / Math.Max(1e-9, clock.Elapsed.TotalSeconds);

    public TimeSpan Elapsed => clock.Elapsed;

    /// <summary>Counts <paramref name="count"/> finished items; <paramref name="status"/> replaces the default throughput text.</summary>
    public void Advance(int count, string? status = null)
    {
        done += count;
        status ??= $"{ItemsPerSecond:F2} img/s";
        if (live is not null)
        {
            live.Update(done, $"{label} ({status})");
            return;
        }
        var now = clock.Elapsed.TotalSeconds;
        if (done == total || now - lastPrinted >= 2)
        {
            lastPrinted = now;
            log.WriteLine($"{label}: {done}/{total} ({status})");
        }
    }

    public void Dispose() => live?.Dispose();

    /// <summary>Runs a Spectre progress display on its own thread so the caller's loop stays synchronous.</summary>
    private sealed class ProgressContextHost : IDisposable
    {
        private readonly ManualResetEventSlim finished = new();
        private readonly Thread thread;
        private volatile int value;
        private volatile string description;

        public ProgressContextHost(string label, int total)
        {
            description = label;
            thread = new Thread(() =>
            {
                AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask(label, maxValue: Math.Max(1, total));
                        while (!finished.Wait(200))
                        {
                            task.Value = value;
                            task.Description = description;
                        }
                        task.Value = value;
                        task.Description = description;
                    });
            }) { IsBackground = true };
            thread.Start();
        }

        public void Update(int newValue, string newDescription)
        {
            value = newValue;
            description = newDescription;
        }

        public void Dispose()
        {
            finished.Set();
            thread.Join();
        }
    }
}
