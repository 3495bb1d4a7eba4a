// IGpuDriver on a real NVIDIA GPU through our own CUDA driver API bindings (one context, a compute stream, optional copy streams).
using System.Runtime.InteropServices;
using System.Text;

namespace VcpNative.Tensors.Cuda.Driver;

/// <summary><see cref="IGpuDriver"/> on a real GPU through libcuda.so.1 (the driver API), with our own bindings.</summary>
public sealed unsafe class CudaDriver : IGpuDriver
{
    private readonly CudaApi _api;
    private nint _context;
    private nint _stream;

    /// <inheritdoc/>
    public GpuDeviceInfo Device { get; }

    /// <summary>The CUDA version of the installed driver as cuDriverGetVersion reports it (11040 = CUDA 11.4); 0 if unknown.</summary>
    public int DriverVersion { get; }

    /// <summary>Where libcuda was loaded from and what was searched (null until a driver was opened).</summary>
    public static NativeLibrarySearch? LibrarySearch => CudaApi.Search;

    /// <summary>The stream every launch and copy uses (for cuBLAS: <c>cublas.SetStream(driver.Stream)</c>).</summary>
    public nint Stream => _stream;

    /// <summary>Opens device <paramref name="ordinal"/>; throws CudaUnavailableException when there is no driver or device.</summary>
    public CudaDriver(int ordinal = 0)
    {
        _api = CudaApi.Load();
        int r = _api.cuInit(0);
        if (r == 100) throw new CudaUnavailableException("CUDA driver found but no CUDA-capable device (CUDA_ERROR_NO_DEVICE); use the cpu or emulated device");
        _api.Check(r, "cuInit");
        int driverVersion;
        DriverVersion = _api.cuDriverGetVersion(&driverVersion) == 0 ? driverVersion : 0;
        int count;
        _api.Check(_api.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count)
            throw new CudaUnavailableException($"CUDA device {ordinal} requested but {count} device(s) present; use the cpu or emulated device");
        int dev;
        _api.Check(_api.cuDeviceGet(&dev, ordinal), "cuDeviceGet");
        byte* name = stackalloc byte[256];
        _api.Check(_api.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
        nuint total;
        _api.Check(_api.cuDeviceTotalMem_v2(&total, dev), "cuDeviceTotalMem_v2");
        int major, minor, sms;
        _api.Check(_api.cuDeviceGetAttribute(&major, CudaApi.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
        _api.Check(_api.cuDeviceGetAttribute(&minor, CudaApi.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
        _api.Check(_api.cuDeviceGetAttribute(&sms, CudaApi.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "cuDeviceGetAttribute");
        Device = new GpuDeviceInfo(Marshal.PtrToStringUTF8((nint)name) ?? "?", (long)total, major, minor, sms, IsEmulated: false);
        if (major < 8) throw new CudaUnavailableException($"{Device.Name} is sm_{major}{minor}; the shipped PTX targets sm_80+; use the cpu or emulated device");
        nint ctx;
        _api.Check(_api.cuCtxCreate_v2(&ctx, 0, dev), "cuCtxCreate_v2");
        _context = ctx;
        nint stream;
        _api.Check(_api.cuStreamCreate(&stream, 0), "cuStreamCreate");
        _stream = stream;
    }

    /// <summary>
    /// Makes this driver's context current on the calling thread when it is not (a CUDA context is current per thread:
    /// without this, a detector opened on one thread and called from another, as a server's batch worker does, fails
    /// with CUDA_ERROR_INVALID_CONTEXT). One cuCtxGetCurrent per call when it already is.
    /// </summary>
    public void BindToCallingThread()
    {
        nint current;
        if (_api.cuCtxGetCurrent(&current) != 0 || current != _context)
        {
            _api.Check(_api.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        }
    }

    private CudaApi Bound()
    {
        BindToCallingThread();
        return _api;
    }

    /// <inheritdoc/>
    public DevicePtr Allocate(long bytes)
    {
        ulong p;
        _api.Check(Bound().cuMemAlloc_v2(&p, (nuint)Math.Max(bytes, 1)), "cuMemAlloc_v2", $"{bytes} bytes");
        return new DevicePtr(p);
    }

    /// <inheritdoc/>
    public void Free(DevicePtr ptr) => _api.Check(Bound().cuMemFree_v2(ptr.Address), "cuMemFree_v2");

    // The synchronous copy functions order themselves after work on the legacy default stream only, so wait for ours first.
    /// <inheritdoc/>
    public void CopyToDevice(DevicePtr dst, ReadOnlySpan<byte> src)
    {
        Synchronize();
        fixed (byte* p = src) _api.Check(Bound().cuMemcpyHtoD_v2(dst.Address, p, (nuint)src.Length), "cuMemcpyHtoD_v2");
    }

    /// <inheritdoc/>
    public void CopyToHost(DevicePtr src, Span<byte> dst)
    {
        Synchronize();
        fixed (byte* p = dst) _api.Check(Bound().cuMemcpyDtoH_v2(p, src.Address, (nuint)dst.Length), "cuMemcpyDtoH_v2");
    }

    /// <inheritdoc/>
    public void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes)
    {
        Synchronize();
        _api.Check(Bound().cuMemcpyDtoD_v2(dst.Address, src.Address, (nuint)bytes), "cuMemcpyDtoD_v2");
    }

    /// <inheritdoc/>
    public void Memset(DevicePtr dst, byte value, long bytes)
    {
        Synchronize();
        _api.Check(Bound().cuMemsetD8_v2(dst.Address, value, (nuint)bytes), "cuMemsetD8_v2");
    }

    /// <inheritdoc/>
    public GpuModule LoadModule(string ptx) => LoadModule(ptx, "(unnamed)");

    /// <summary>Loads (JIT-compiles) a PTX module; a driver older than the PTX fails with one line naming both versions.</summary>
    public GpuModule LoadModule(string ptx, string name)
    {
        const int logSize = 16 * 1024;
        byte[] image = Encoding.UTF8.GetBytes(ptx + "\0");
        byte* errorLog = stackalloc byte[logSize];
        errorLog[0] = 0;
        int* options = stackalloc int[2] { CudaApi.CU_JIT_ERROR_LOG_BUFFER, CudaApi.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
        void** values = stackalloc void*[2] { errorLog, (void*)(nuint)logSize };
        nint module;
        int r;
        fixed (byte* img = image) r = _api.cuModuleLoadDataEx(&module, img, 2, options, values);
        if (r == PtxCompatibility.UnsupportedPtxVersionCode)
            throw new CudaException("cuModuleLoadDataEx", r, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", PtxCompatibility.UnsupportedPtxMessage(name, ptx, DriverVersion));
        if (r != 0) _api.Check(r, "cuModuleLoadDataEx", $"module {name}; JIT log: " + (Marshal.PtrToStringUTF8((nint)errorLog) ?? ""));
        return new GpuModule(module);
    }

    /// <inheritdoc/>
    public GpuFunction GetFunction(GpuModule module, string name)
    {
        nint f;
        byte[] utf8 = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = utf8) _api.Check(Bound().cuModuleGetFunction(&f, module.Handle, n), "cuModuleGetFunction", name);
        return new GpuFunction(f);
    }

    /// <summary>Unloads a module loaded by <see cref="LoadModule(string)"/> (cuModuleUnload).</summary>
    public void UnloadModule(GpuModule module) => _api.Check(Bound().cuModuleUnload(module.Handle), "cuModuleUnload");

    /// <inheritdoc/>
    public void Launch(GpuFunction function, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<KernelArg> args)
    {
        // kernelParams is an array of pointers, each to one argument's value; KernelArg.Bits holds the value little-endian.
        ulong* values = stackalloc ulong[Math.Max(args.Length, 1)];
        void** pointers = stackalloc void*[Math.Max(args.Length, 1)];
        for (int i = 0; i < args.Length; i++)
        {
            values[i] = args[i].Bits;
            pointers[i] = &values[i];
        }
        _api.Check(Bound().cuLaunchKernel(function.Handle, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, (uint)sharedBytes,
                                       _stream, pointers, null), "cuLaunchKernel");
    }

    /// <inheritdoc/>
    public void Synchronize() => _api.Check(Bound().cuStreamSynchronize(_stream), "cuStreamSynchronize");

    /// <inheritdoc/>
    public GpuStream ComputeStream => new(_stream);

    // Extra streams do not synchronise with the legacy default stream, so only the events we record order them.
    /// <inheritdoc/>
    public GpuStream CreateStream()
    {
        nint stream;
        _api.Check(Bound().cuStreamCreate(&stream, CudaApi.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        return new GpuStream(stream);
    }

    /// <inheritdoc/>
    public void DestroyStream(GpuStream stream) => _api.Check(Bound().cuStreamDestroy_v2(stream.Handle), "cuStreamDestroy_v2");

    // Ordering-only events: timing disabled makes record and wait cheaper.
    /// <inheritdoc/>
    public GpuEvent CreateEvent()
    {
        nint evt;
        _api.Check(Bound().cuEventCreate(&evt, CudaApi.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        return new GpuEvent(evt);
    }

    /// <inheritdoc/>
    public void DestroyEvent(GpuEvent evt) => _api.Check(Bound().cuEventDestroy_v2(evt.Handle), "cuEventDestroy_v2");

    /// <inheritdoc/>
    public void RecordEvent(GpuEvent evt, GpuStream stream) => _api.Check(Bound().cuEventRecord(evt.Handle, stream.Handle), "cuEventRecord");

    /// <inheritdoc/>
    public void StreamWaitEvent(GpuStream stream, GpuEvent evt) =>
        _api.Check(Bound().cuStreamWaitEvent(stream.Handle, evt.Handle, 0), "cuStreamWaitEvent");

    /// <inheritdoc/>
    public void SynchronizeEvent(GpuEvent evt) => _api.Check(Bound().cuEventSynchronize(evt.Handle), "cuEventSynchronize");

    /// <inheritdoc/>
    public nint AllocatePinned(long bytes)
    {
        void* p;
        _api.Check(Bound().cuMemHostAlloc(&p, (nuint)Math.Max(bytes, 1), 0), "cuMemHostAlloc", $"{bytes} bytes");
        return (nint)p;
    }

    /// <inheritdoc/>
    public void FreePinned(nint host) => _api.Check(Bound().cuMemFreeHost((void*)host), "cuMemFreeHost");

    /// <inheritdoc/>
    public void CopyToDeviceAsync(DevicePtr dst, nint pinnedSrc, long bytes, GpuStream stream) =>
        _api.Check(Bound().cuMemcpyHtoDAsync_v2(dst.Address, (void*)pinnedSrc, (nuint)bytes, stream.Handle), "cuMemcpyHtoDAsync_v2", $"{bytes} bytes");

    /// <summary>Milliseconds of GPU time taken by <paramref name="work"/> on this driver's stream (CUDA events).</summary>
    public float TimeMilliseconds(Action work)
    {
        nint start, stop;
        _api.Check(Bound().cuEventCreate(&start, 0), "cuEventCreate");
        _api.Check(Bound().cuEventCreate(&stop, 0), "cuEventCreate");
        try
        {
            _api.Check(Bound().cuEventRecord(start, _stream), "cuEventRecord");
            work();
            _api.Check(Bound().cuEventRecord(stop, _stream), "cuEventRecord");
            _api.Check(Bound().cuEventSynchronize(stop), "cuEventSynchronize");
            float ms;
            _api.Check(Bound().cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
            return ms;
        }
        finally
        {
            _api.cuEventDestroy_v2(start);
            _api.cuEventDestroy_v2(stop);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_stream != 0) _api.cuStreamDestroy_v2(_stream);
        if (_context != 0) _api.cuCtxDestroy_v2(_context);
        _stream = 0;
        _context = 0;
    }
}
