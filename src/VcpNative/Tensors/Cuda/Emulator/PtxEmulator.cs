// IGpuDriver implemented by interpreting PTX: lets every shipped kernel run (and be sanitised) on a machine without a GPU.
using System.Buffers.Binary;
using VcpNative.Tensors.Cuda.Profiling;

namespace VcpNative.Tensors.Cuda.Emulator;

public sealed class PtxEmulator : IGpuDriver
{
    private readonly EmulatorMemory _memory = new();
    private readonly List<PtxModule> _modules = [];
    private readonly List<PtxFunction> _functions = [];

    /// <summary>Shared memory per block the emulator accepts (static + dynamic), as on sm_80 with the opt-in limit.</summary>
    public const int MaxSharedBytesPerBlock = 163 * 1024;

    public GpuDeviceInfo Device { get; } = new("PTX emulator (sm_80 semantics)", 1L << 40, 8, 0, 1, IsEmulated: true);

    /// <summary>Warp-instructions executed by all launches so far (a cost measure for `kernels profile`).</summary>
    public long WarpInstructionsExecuted { get; private set; }

    public long BytesAllocated => _memory.BytesAllocated;

    /// <summary>When set, every launch is counted (instruction mix, traffic, bank conflicts, divergence) and appended here.</summary>
    public EmulatorProfile? Profile { get; set; }

    public DevicePtr Allocate(long bytes) => _memory.Allocate(bytes);

    public void Free(DevicePtr ptr) => _memory.Free(ptr);

    public void CopyToDevice(DevicePtr dst, ReadOnlySpan<byte> src) => src.CopyTo(_memory.HostSpan(dst, src.Length, "CopyToDevice"));

    public void CopyToHost(DevicePtr src, Span<byte> dst) => _memory.HostSpan(src, dst.Length, "CopyToHost").CopyTo(dst);

    public void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes) =>
        _memory.HostSpan(src, bytes, "CopyDeviceToDevice").CopyTo(_memory.HostSpan(dst, bytes, "CopyDeviceToDevice"));

    public void Memset(DevicePtr dst, byte value, long bytes) => _memory.HostSpan(dst, bytes, "Memset").Fill(value);

    public GpuModule LoadModule(string ptx)
    {
        _modules.Add(PtxParser.Parse(ptx));
        return new GpuModule(_modules.Count - 1);
    }

    public GpuFunction GetFunction(GpuModule module, string name)
    {
        if (module.Handle < 0 || module.Handle >= _modules.Count) throw new ArgumentException($"GetFunction: unknown module handle {module.Handle}");
        if (!_modules[(int)module.Handle].Functions.TryGetValue(name, out var fn))
            throw new ArgumentException($"GetFunction: kernel '{name}' is not in module {module.Handle} (has: {string.Join(", ", _modules[(int)module.Handle].Functions.Keys)})");
        _functions.Add(fn);
        return new GpuFunction(_functions.Count - 1);
    }

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
            if (counters is not null)
                Profile!.Launches.Add(new KernelLaunchRecord(fn.Name, grid, block, fn.StaticSharedBytes + sharedBytes, fn.DeclaredRegisters, counters));
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

    public void Synchronize() { }

    public void Dispose() { }
}
