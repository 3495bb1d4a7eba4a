// The emulator's model of CUDA stream ordering: vector clocks over streams, events and the host, and a race check on
// every device allocation that work on two streams touches.
namespace VcpNative.Tensors.Cuda.Emulator;

/// <summary>
/// One piece of device work as the stream model saw it. <see cref="Clock"/> is the vector clock of its stream when it
/// was issued (its own entry included): it records, per stream, the latest operation known to be complete before this
/// one may start. Host waits appear in the log with <see cref="Stream"/> = -1.
/// </summary>
public sealed record StreamOperation(int Index, string Kind, string Name, int Stream, long Epoch, long[] Clock)
{
    /// <summary>A kernel launch.</summary>
    public const string Kernel = "kernel";
    /// <summary>A synchronous host-to-device copy.</summary>
    public const string CopyToDevice = "copy-h2d";
    /// <summary>An asynchronous host-to-device copy from pinned memory.</summary>
    public const string CopyToDeviceAsync = "copy-h2d-async";
    /// <summary>A device-to-host copy.</summary>
    public const string CopyToHost = "copy-d2h";
    /// <summary>A device-to-device copy.</summary>
    public const string CopyDeviceToDevice = "copy-d2d";
    /// <summary>A memset.</summary>
    public const string Memset = "memset";
    /// <summary>The host waiting for a stream or event.</summary>
    public const string HostWait = "host-wait";

    /// <summary>True when the ordering rules (stream order, events, host waits) guarantee this completes before <paramref name="later"/> starts.</summary>
    public bool HappensBefore(StreamOperation later)
    {
        if (Stream < 0 || later.Stream < 0)
        {
            throw new InvalidOperationException("host waits are not device work: happens-before is defined between device operations");
        }
        return Stream < later.Clock.Length && Epoch <= later.Clock[Stream];
    }

    /// <summary>The operation as one log line.</summary>
    public override string ToString() => Stream < 0 ? $"#{Index} host wait ({Name})" : $"#{Index} {Kind} {Name} on stream {Stream}";
}

/// <summary>Two operations on different streams touch one allocation, at least one writes, and nothing orders them.</summary>
public sealed class GpuStreamRaceException(string message) : Exception(message);

/// <summary>
/// Vector clocks (one entry per stream) give happens-before between device operations: work issued to a stream comes
/// after that stream's earlier work, after the events it was told to wait for, and after whatever the host had already
/// waited for when it issued the work. Each allocation remembers its last writer and its last reader per stream;
/// an access that is not ordered after a conflicting one is a race that a real GPU could run either way. The
/// emulator itself runs everything in issue order, so without this check such a bug would pass every test.
/// </summary>
internal sealed class StreamOrderModel
{
    private sealed class AccessHistory
    {
        public StreamOperation? LastWrite;
        public StreamOperation?[] LastReads = new StreamOperation?[1];
    }

    private readonly List<long[]> streamClocks = [new long[1]];
    private readonly Dictionary<long, long[]> eventClocks = new();
    private readonly Dictionary<byte[], AccessHistory> history = new(ReferenceEqualityComparer.Instance);
    private long[] hostClock = new long[1];
    private int operations;

    /// <summary>Every operation and host wait, in issue order, when set (tests that check overlap read it).</summary>
    public List<StreamOperation>? Log { get; set; }

    /// <summary>Host waits so far (stream/event synchronisation and device-to-host copies).</summary>
    public long HostWaits { get; private set; }

    public int AddStream()
    {
        streamClocks.Add(new long[streamClocks.Count + 1]);
        return streamClocks.Count - 1;
    }

    public StreamOperation Begin(string kind, string name, int stream)
    {
        var clock = Grow(streamClocks[Stream(stream)]);
        Merge(clock, hostClock);
        clock[stream]++;
        streamClocks[stream] = clock;
        var op = new StreamOperation(operations++, kind, name, stream, clock[stream], (long[])clock.Clone());
        Log?.Add(op);
        return op;
    }

    /// <summary>Checks one access of <paramref name="op"/> to an allocation against its history, then records it.</summary>
    public void Access(StreamOperation op, byte[] allocation, bool write, EmulatorMemory memory)
    {
        if (!history.TryGetValue(allocation, out var h))
        {
            h = new AccessHistory();
            history[allocation] = h;
        }
        if (h.LastWrite is { } w && !w.HappensBefore(op))
        {
            throw Race(op, write, w, true, memory.Describe(allocation));
        }
        if (write)
        {
            foreach (var r in h.LastReads)
            {
                if (r is not null && !r.HappensBefore(op))
                {
                    throw Race(op, write, r, false, memory.Describe(allocation));
                }
            }
            h.LastWrite = op;
            Array.Clear(h.LastReads);
        }
        else
        {
            if (h.LastReads.Length <= op.Stream)
            {
                Array.Resize(ref h.LastReads, streamClocks.Count);
            }
            h.LastReads[op.Stream] = op;
        }
    }

    /// <summary>A freed allocation is never handed out again by the emulator, so its history can go.</summary>
    public void Forget(byte[] allocation) => history.Remove(allocation);

    public void RecordEvent(long evt, int stream) => eventClocks[evt] = (long[])streamClocks[Stream(stream)].Clone();

    public void StreamWaitEvent(int stream, long evt)
    {
        // Waiting on an event never recorded completes at once (CUDA semantics).
        if (eventClocks.TryGetValue(evt, out var e))
        {
            var clock = Grow(streamClocks[Stream(stream)]);
            Merge(clock, e);
            streamClocks[stream] = clock;
        }
    }

    public void HostWaitsForStream(int stream, string why) => HostWait(streamClocks[Stream(stream)], why);

    public void HostWaitsForEvent(long evt, string why)
    {
        if (eventClocks.TryGetValue(evt, out var e))
        {
            HostWait(e, why);
        }
    }

    private void HostWait(long[] clock, string why)
    {
        hostClock = Grow(hostClock);
        Merge(hostClock, clock);
        HostWaits++;
        Log?.Add(new StreamOperation(operations++, StreamOperation.HostWait, why, -1, 0, (long[])hostClock.Clone()));
    }

    private int Stream(int stream) => stream >= 0 && stream < streamClocks.Count
        ? stream
        : throw new ArgumentException($"stream {stream} was not created on this emulator");

    private long[] Grow(long[] clock) => clock.Length >= streamClocks.Count ? clock : Resized(clock);

    private long[] Resized(long[] clock)
    {
        var grown = new long[streamClocks.Count];
        clock.CopyTo(grown, 0);
        return grown;
    }

    private static void Merge(long[] into, long[] from)
    {
        for (var i = 0; i < from.Length && i < into.Length; i++)
        {
            into[i] = Math.Max(into[i], from[i]);
        }
    }

    private static GpuStreamRaceException Race(StreamOperation op, bool write, StreamOperation earlier, bool earlierWrote, string allocation) =>
        new($"stream race on {allocation}: {op} {(write ? "writes" : "reads")} it, but {earlier}, which {(earlierWrote ? "wrote" : "read")} it, " +
            "is not ordered before it (record an event after the earlier work and make the later stream wait on it)");
}
