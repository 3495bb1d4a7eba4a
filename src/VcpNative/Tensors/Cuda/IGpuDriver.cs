// The device-driver abstraction shared by the real CUDA driver and the PTX emulator.
using System.Runtime.InteropServices;

namespace VcpNative.Tensors.Cuda;

/// <summary>A device address (CUdeviceptr). Address 0 is the null pointer.</summary>
public readonly record struct DevicePtr(ulong Address)
{
    /// <summary>The null device pointer.</summary>
    public static DevicePtr Null => default;

    /// <summary>True for address 0.</summary>
    public bool IsNull => Address == 0;

    /// <summary>This address plus <paramref name="bytes"/>.</summary>
    public DevicePtr Offset(long bytes) => new(unchecked(Address + (ulong)bytes));

    /// <summary>The address in hex.</summary>
    public override string ToString() => $"0x{Address:x}";
}

/// <summary>A loaded PTX module (CUmodule for the real driver, an index for the emulator).</summary>
public readonly record struct GpuModule(nint Handle);

/// <summary>A kernel entry point inside a module (CUfunction, or an index for the emulator).</summary>
public readonly record struct GpuFunction(nint Handle);

/// <summary>A command queue (CUstream for the real driver, an index for the emulator).</summary>
public readonly record struct GpuStream(nint Handle);

/// <summary>A marker recorded into a stream that other streams or the host can wait on (CUevent, or an index).</summary>
public readonly record struct GpuEvent(nint Handle);

/// <summary>Grid or block dimensions.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    /// <summary>X * Y * Z.</summary>
    public ulong Volume => (ulong)X * Y * Z;

    /// <summary>"(X,Y,Z)".</summary>
    public override string ToString() => $"({X},{Y},{Z})";
}

/// <summary>Static facts about the device a driver runs on.</summary>
public sealed record GpuDeviceInfo(string Name, long TotalMemoryBytes, int ComputeCapabilityMajor, int ComputeCapabilityMinor,
                                   int MultiprocessorCount, bool IsEmulated);

/// <summary>The type of one kernel parameter.</summary>
public enum KernelArgKind : byte
{
    /// <summary>A device address (8 bytes).</summary>
    Pointer,
    /// <summary>A 32-bit integer.</summary>
    Int32,
    /// <summary>A 64-bit integer.</summary>
    Int64,
    /// <summary>An fp32 value.</summary>
    Float32,
    /// <summary>An fp64 value.</summary>
    Float64,
}

/// <summary>One typed kernel parameter, passed by value, as cuLaunchKernel's kernelParams expects.</summary>
public readonly struct KernelArg
{
    /// <summary>The parameter's type.</summary>
    public KernelArgKind Kind { get; }

    /// <summary>The raw little-endian bits of the value (low 4 bytes for 32-bit kinds).</summary>
    public ulong Bits { get; }

    private KernelArg(KernelArgKind kind, ulong bits)
    {
        Kind = kind;
        Bits = bits;
    }

    /// <summary>Bytes the parameter takes in the kernel's parameter space (4 or 8).</summary>
    public int Size => Kind is KernelArgKind.Int32 or KernelArgKind.Float32 ? 4 : 8;

    /// <summary>A pointer parameter.</summary>
    public static KernelArg Pointer(DevicePtr p) => new(KernelArgKind.Pointer, p.Address);

    /// <summary>A 32-bit integer parameter.</summary>
    public static KernelArg Int32(int v) => new(KernelArgKind.Int32, (uint)v);

    /// <summary>A 64-bit integer parameter.</summary>
    public static KernelArg Int64(long v) => new(KernelArgKind.Int64, (ulong)v);

    /// <summary>An fp32 parameter.</summary>
    public static KernelArg Float32(float v) => new(KernelArgKind.Float32, (uint)BitConverter.SingleToInt32Bits(v));

    /// <summary>An fp64 parameter.</summary>
    public static KernelArg Float64(double v) => new(KernelArgKind.Float64, (ulong)BitConverter.DoubleToInt64Bits(v));

    /// <summary>A pointer parameter.</summary>
    public static implicit operator KernelArg(DevicePtr p) => Pointer(p);

    /// <summary>A 32-bit integer parameter.</summary>
    public static implicit operator KernelArg(int v) => Int32(v);

    /// <summary>A 64-bit integer parameter.</summary>
    public static implicit operator KernelArg(long v) => Int64(v);

    /// <summary>An fp32 parameter.</summary>
    public static implicit operator KernelArg(float v) => Float32(v);

    /// <summary>"Kind:0xbits".</summary>
    public override string ToString() => $"{Kind}:0x{Bits:x}";
}

/// <summary>
/// A GPU as the tensor backend sees it: memory, modules loaded from PTX text, kernel launches.
/// Implemented by <see cref="Driver.CudaDriver"/> (libcuda) and <see cref="Emulator.PtxEmulator"/> (interpreter).
/// Launches are asynchronous on the real driver; <see cref="Synchronize"/> waits, copies to host synchronise.
/// Launches and the synchronous copies run on <see cref="ComputeStream"/>; further streams, events and pinned host
/// memory exist so host-to-device uploads can run on a copy stream beside compute.
/// </summary>
public interface IGpuDriver : IDisposable
{
    /// <summary>Static facts about the device.</summary>
    GpuDeviceInfo Device { get; }

    /// <summary>Allocates <paramref name="bytes"/> of device memory (cuMemAlloc).</summary>
    DevicePtr Allocate(long bytes);

    /// <summary>Frees memory from <see cref="Allocate"/>.</summary>
    void Free(DevicePtr ptr);

    /// <summary>Copies host bytes to the device and waits for the copy.</summary>
    void CopyToDevice(DevicePtr dst, ReadOnlySpan<byte> src);

    /// <summary>Copies device bytes to the host after the work issued before it finishes.</summary>
    void CopyToHost(DevicePtr src, Span<byte> dst);

    /// <summary>Copies <paramref name="bytes"/> from <paramref name="src"/> to <paramref name="dst"/> on the device.</summary>
    void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes);

    /// <summary>Sets <paramref name="bytes"/> at <paramref name="dst"/> to <paramref name="value"/>.</summary>
    void Memset(DevicePtr dst, byte value, long bytes);

    /// <summary>Loads a module from PTX text (JIT-compiled by the real driver, parsed by the emulator).</summary>
    GpuModule LoadModule(string ptx);

    /// <summary>As <see cref="LoadModule(string)"/>, with the module's name for error messages (kernels/ptx/{name}.ptx).</summary>
    GpuModule LoadModule(string ptx, string name) => LoadModule(ptx);

    /// <summary>The entry point <paramref name="name"/> of <paramref name="module"/>.</summary>
    GpuFunction GetFunction(GpuModule module, string name);

    /// <summary>Queues <paramref name="function"/> on the compute stream with the grid, block, dynamic shared bytes and arguments.</summary>
    void Launch(GpuFunction function, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<KernelArg> args);

    /// <summary>Blocks the host until all work issued so far has finished.</summary>
    void Synchronize();

    /// <summary>
    /// Makes the driver's device context current on the calling thread, for libraries that use the thread's context
    /// (cuBLAS); the driver's own calls do it themselves. No-op where there is no such thing (the emulator).
    /// </summary>
    void BindToCallingThread()
    {
    }

    /// <summary>
    /// Milliseconds <paramref name="work"/> (operations it issues on the compute stream) takes: CUDA events on a real
    /// GPU; host wall time, waited for, where the driver has no device clock (the emulator: not a GPU time).
    /// </summary>
    float TimeMilliseconds(Action work)
    {
        Synchronize();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        work();
        Synchronize();
        return (float)clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>The stream every launch and synchronous copy uses.</summary>
    GpuStream ComputeStream { get; }

    /// <summary>A new stream beside the compute stream.</summary>
    GpuStream CreateStream();

    /// <summary>Destroys a stream from <see cref="CreateStream"/>.</summary>
    void DestroyStream(GpuStream stream);

    /// <summary>A new event to record into a stream.</summary>
    GpuEvent CreateEvent();

    /// <summary>Destroys an event from <see cref="CreateEvent"/>.</summary>
    void DestroyEvent(GpuEvent evt);

    /// <summary>Marks the point in <paramref name="stream"/> reached once all work issued to it so far completes.</summary>
    void RecordEvent(GpuEvent evt, GpuStream stream);

    /// <summary>Work issued to <paramref name="stream"/> after this call starts only once <paramref name="evt"/> completes; the host does not wait.</summary>
    void StreamWaitEvent(GpuStream stream, GpuEvent evt);

    /// <summary>Blocks the host until <paramref name="evt"/> completes.</summary>
    void SynchronizeEvent(GpuEvent evt);

    /// <summary>Page-locked host memory that the device can read by DMA while the host goes on (cuMemHostAlloc).</summary>
    nint AllocatePinned(long bytes);

    /// <summary>Frees memory from <see cref="AllocatePinned"/>.</summary>
    void FreePinned(nint host);

    /// <summary>
    /// Queues a copy of <paramref name="bytes"/> from pinned host memory to the device on <paramref name="stream"/> and
    /// returns at once; the host memory must stay untouched until the copy completes (record an event after it).
    /// </summary>
    void CopyToDeviceAsync(DevicePtr dst, nint pinnedSrc, long bytes, GpuStream stream);
}

/// <summary>Typed copies on top of the byte-level driver interface.</summary>
public static class GpuDriverExtensions
{
    /// <summary>Copies the elements of <paramref name="src"/> to the device.</summary>
    public static void CopyToDevice<T>(this IGpuDriver gpu, DevicePtr dst, ReadOnlySpan<T> src) where T : unmanaged =>
        gpu.CopyToDevice(dst, MemoryMarshal.AsBytes(src));

    /// <summary>Copies the elements of <paramref name="src"/> to the device.</summary>
    public static void CopyToDevice<T>(this IGpuDriver gpu, DevicePtr dst, T[] src) where T : unmanaged =>
        gpu.CopyToDevice(dst, MemoryMarshal.AsBytes(src.AsSpan()));

    /// <summary>Copies device memory into the elements of <paramref name="dst"/>.</summary>
    public static void CopyToHost<T>(this IGpuDriver gpu, DevicePtr src, Span<T> dst) where T : unmanaged =>
        gpu.CopyToHost(src, MemoryMarshal.AsBytes(dst));

    /// <summary>Copies device memory into the elements of <paramref name="dst"/>.</summary>
    public static void CopyToHost<T>(this IGpuDriver gpu, DevicePtr src, T[] dst) where T : unmanaged =>
        gpu.CopyToHost(src, MemoryMarshal.AsBytes(dst.AsSpan()));
}
