// IGpuDriver implemented by interpreting PTX: lets every shipped kernel run (and be sanitised) on a machine without a GPU.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cuda.Profiling;

namespace VcpNative.Tensors.Cuda.Emulator;

/// <summary><see cref="IGpuDriver"/> that interprets the shipped PTX on the CPU, checking bounds, alignment and stream order; for tests and `kernels verify/profile`.</summary>
public sealed unsafe class PtxEmulator : IGpuDriver
{
    private readonly EmulatorMemory _memory = new();
    private readonly List<PtxModule> _modules = [];
    private readonly List<PtxFunction> _functions = [];

    /// <summary>Shared memory per block the emulator accepts (static + dynamic), as on sm_80 with the opt-in limit.</summary>
    public const int MaxSharedBytesPerBlock = 163 * 1024;

    /// <inheritdoc/>
    public GpuDeviceInfo Device { get; } = new("PTX emulator (sm_80 semantics)", 1L << 40, 8, 0, 1, IsEmulated: true);

    /// <summary>Warp-instructions executed by all launches so far (a cost measure for `kernels profile`).</summary>
    public long WarpInstructionsExecuted { get; private set; }

    /// <summary>Bytes of emulated device memory allocated now.</summary>
    public long BytesAllocated => _memory.BytesAllocated;

    /// <summary>When set, every launch is counted (instruction mix, traffic, bank conflicts, divergence) and appended here.</summary>
    public EmulatorProfile? Profile { get; set; }

    private readonly StreamOrderModel _streams = new();

    /// <summary>
    /// When true, every device operation and host wait is appended to <see cref="StreamLog"/> with its vector clock, so a
    /// test can check what may overlap what. The race check runs either way.
    /// </summary>
    public bool RecordStreamLog
    {
        get => _streams.Log is not null;
        set => _streams.Log = value ? _streams.Log ?? [] : null;
    }

    /// <summary>Every operation issued so far, in order, when stream logging is on; empty otherwise.</summary>
    public IReadOnlyList<StreamOperation> StreamLog => _streams.Log ?? [];

    /// <summary>Times the host waited for the device (synchronise, event synchronise, device-to-host copy).</summary>
    public long HostWaits => _streams.HostWaits;

    /// <inheritdoc/>
    public DevicePtr Allocate(long bytes) => _memory.Allocate(bytes);

    /// <inheritdoc/>
    public void Free(DevicePtr ptr) => _streams.Forget(_memory.Free(ptr));

    /// <inheritdoc/>
    public void CopyToDevice(DevicePtr dst, ReadOnlySpan<byte> src)
    {
        var op = _streams.Begin(StreamOperation.CopyToDevice, $"{src.Length} bytes", 0);
        Touch(op, dst, src.Length, write: true, "CopyToDevice");
        src.CopyTo(_memory.HostSpan(dst, src.Length, "CopyToDevice"));
    }

    /// <inheritdoc/>
    public void CopyToHost(DevicePtr src, Span<byte> dst)
    {
        var op = _streams.Begin(StreamOperation.CopyToHost, $"{dst.Length} bytes", 0);
        Touch(op, src, dst.Length, write: false, "CopyToHost");
        _memory.HostSpan(src, dst.Length, "CopyToHost").CopyTo(dst);
        _streams.HostWaitsForStream(0, "device-to-host copy");
    }

    /// <inheritdoc/>
    public void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes)
    {
        var op = _streams.Begin(StreamOperation.CopyDeviceToDevice, $"{bytes} bytes", 0);
        Touch(op, src, bytes, write: false, "CopyDeviceToDevice");
        Touch(op, dst, bytes, write: true, "CopyDeviceToDevice");
        _memory.HostSpan(src, bytes, "CopyDeviceToDevice").CopyTo(_memory.HostSpan(dst, bytes, "CopyDeviceToDevice"));
    }

    /// <inheritdoc/>
    public void Memset(DevicePtr dst, byte value, long bytes)
    {
        var op = _streams.Begin(StreamOperation.Memset, $"{bytes} bytes", 0);
        Touch(op, dst, bytes, write: true, "Memset");
        _memory.HostSpan(dst, bytes, "Memset").Fill(value);
    }

    private void Touch(StreamOperation op, DevicePtr ptr, long bytes, bool write, string operation)
    {
        if (bytes == 0) return;
        var data = _memory.AllocationOf(ptr, bytes, operation);
        _streams.Access(op, data, write, _memory);
    }

    /// <inheritdoc/>
    public GpuModule LoadModule(string ptx)
    {
        _modules.Add(PtxParser.Parse(ptx));
        return new GpuModule(_modules.Count - 1);
    }

    /// <inheritdoc/>
    public GpuFunction GetFunction(GpuModule module, string name)
    {
        if (module.Handle < 0 || module.Handle >= _modules.Count) throw new ArgumentException($"GetFunction: unknown module handle {module.Handle}");
        if (!_modules[(int)module.Handle].Functions.TryGetValue(name, out var fn))
            throw new ArgumentException($"GetFunction: kernel '{name}' is not in module {module.Handle} (has: {string.Join(", ", _modules[(int)module.Handle].Functions.Keys)})");
        _functions.Add(fn);
        return new GpuFunction(_functions.Count - 1);
    }

    /// <inheritdoc/>
    public void Launch(GpuFunction function, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<KernelArg> args)
    {
        if (function.Handle < 0 || function.Handle >= _functions.Count) throw new ArgumentException($"Launch: unknown function handle {function.Handle}");
        var fn = _functions[(int)function.Handle];
        if (grid.Volume == 0 || block.Volume == 0 || block.Volume > 1024 || block.Z > 64 || grid.Y > 65535 || grid.Z > 65535)
            throw new PtxExecutionException($"launch of {fn.Name}: invalid configuration grid {grid}, block {block}");
        if (sharedBytes < 0 || fn.StaticSharedBytes + sharedBytes > MaxSharedBytesPerBlock)
            throw new PtxExecutionException($"launch of {fn.Name}: {fn.StaticSharedBytes} static + {sharedBytes} dynamic shared bytes exceed {MaxSharedBytesPerBlock}");
        var counters = Profile is null ? null : new KernelCounters();
        var interpreter = new PtxInterpreter(fn, _memory, PackParameters(fn, args), grid, block, sharedBytes, counters);
        try
        {
            interpreter.Run();
            var op = _streams.Begin(StreamOperation.Kernel, fn.Name, 0);
            foreach (var (data, written) in interpreter.TouchedAllocations)
                _streams.Access(op, data, written, _memory);
            if (counters is not null)
                Profile!.Launches.Add(new KernelLaunchRecord(fn.Name, grid, block, fn.StaticSharedBytes + sharedBytes, fn.DeclaredRegisters, counters, fn.LiveRegisters));
        }
        finally
        {
            WarpInstructionsExecuted += interpreter.WarpInstructions;
        }
    }

    private static byte[] PackParameters(PtxFunction fn, ReadOnlySpan<KernelArg> args)
    {
        if (args.Length != fn.Params.Length)
            throw new PtxExecutionException($"launch of {fn.Name}: expected {fn.Params.Length} arguments, found {args.Length}");
        var bytes = new byte[fn.ParamBytes];
        for (int i = 0; i < args.Length; i++)
        {
            var p = fn.Params[i];
            if (args[i].Size != p.Size)
                throw new PtxExecutionException($"launch of {fn.Name}: argument {i} ({p.Name}) is .{p.Type.ToString().ToLowerInvariant()} ({p.Size} bytes), found {args[i].Kind} ({args[i].Size} bytes)");
            if (p.Size == 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(p.Offset), (uint)args[i].Bits);
            else BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(p.Offset), args[i].Bits);
        }
        return bytes;
    }

    /// <inheritdoc/>
    public void Synchronize() => _streams.HostWaitsForStream(0, "synchronize");

    // Streams and events: the emulator runs every call to completion in issue order, which is one valid schedule of
    // any set of streams. The stream model checks that the order the program relies on is also guaranteed by its
    // streams and events (StreamOrderModel), so a missing event shows up as a GpuStreamRaceException here.
    private int _eventsCreated;
    private readonly HashSet<nint> _pinned = [];

    /// <inheritdoc/>
    public GpuStream ComputeStream => new(0);

    /// <summary>Pinned host buffers allocated and not yet freed (lets tests see that staging buffers are reused).</summary>
    public int LivePinnedBuffers => _pinned.Count;

    /// <summary>Calls to <see cref="AllocatePinned"/> so far.</summary>
    public int PinnedAllocations { get; private set; }

    /// <summary>Asynchronous host-to-device copies issued so far.</summary>
    public int AsyncCopies { get; private set; }

    /// <inheritdoc/>
    public GpuStream CreateStream() => new(_streams.AddStream());

    /// <inheritdoc/>
    public void DestroyStream(GpuStream stream) { }

    /// <inheritdoc/>
    public GpuEvent CreateEvent() => new(++_eventsCreated);

    /// <inheritdoc/>
    public void DestroyEvent(GpuEvent evt) { }

    /// <inheritdoc/>
    public void RecordEvent(GpuEvent evt, GpuStream stream) => _streams.RecordEvent(evt.Handle, (int)stream.Handle);

    /// <inheritdoc/>
    public void StreamWaitEvent(GpuStream stream, GpuEvent evt) => _streams.StreamWaitEvent((int)stream.Handle, evt.Handle);

    /// <inheritdoc/>
    public void SynchronizeEvent(GpuEvent evt) => _streams.HostWaitsForEvent(evt.Handle, "event synchronize");

    /// <inheritdoc/>
    public nint AllocatePinned(long bytes)
    {
        var p = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        _pinned.Add(p);
        PinnedAllocations++;
        return p;
    }

    /// <inheritdoc/>
    public void FreePinned(nint host)
    {
        if (!_pinned.Remove(host)) throw new ArgumentException($"FreePinned: 0x{host:x} is not a live pinned buffer");
        NativeMemory.AlignedFree((void*)host);
    }

    /// <inheritdoc/>
    public void CopyToDeviceAsync(DevicePtr dst, nint pinnedSrc, long bytes, GpuStream stream)
    {
        if (!_pinned.Contains(pinnedSrc)) throw new ArgumentException($"CopyToDeviceAsync: source 0x{pinnedSrc:x} is not the start of a pinned buffer");
        AsyncCopies++;
        var op = _streams.Begin(StreamOperation.CopyToDeviceAsync, $"{bytes} bytes", (int)stream.Handle);
        Touch(op, dst, bytes, write: true, "CopyToDeviceAsync");
        new ReadOnlySpan<byte>((void*)pinnedSrc, checked((int)bytes)).CopyTo(_memory.HostSpan(dst, bytes, "CopyToDeviceAsync"));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var p in _pinned) NativeMemory.AlignedFree((void*)p);
        _pinned.Clear();
    }
}
