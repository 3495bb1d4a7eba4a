// The GPU backend's host path for the cases its kernels do not take: inputs are downloaded, CpuBackend runs, outputs go back up.
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Tensors.Cuda;

/// <summary>
/// The host fallback, in one place so that it is easy to see and to shrink: every method here copies its device
/// inputs to the host, runs <see cref="CpuBackend.Instance"/>'s kernel and uploads the outputs. Correct but slow
/// (two PCIe trips per call). Every op now has kernels; only the partial cases listed below still come here.
/// </summary>
public sealed partial class GpuBackend
{
    /// <summary>Ops that always run on the host (CpuBackend) when called on this backend.</summary>
    public static IReadOnlyList<string> HostFallbackOps { get; } =
    [
    ];

    /// <summary>Ops that use kernels but take the host path in the listed cases.</summary>
    public static IReadOnlyList<string> PartialHostFallbackOps { get; } =
    [
        "softmax_forward: causal with Lq != Lk (the kernel's causal diagonal is bottom-right aligned)",
        "copy / fill / upload: non-f32 dtypes (f16, bf16, i32, i64 are converted on the host), except same-dtype f16/bf16 uploads and dense device bf16 -> f32 (widen_bf16_f32)",
        "copy / binary / sum_to: views with more than 6 axes after merging",
    ];

    /// <summary>Calls that took the host path since this backend was created (a cost signal for `kernels verify`).</summary>
    public long HostFallbackCalls { get; private set; }

    // ----- partial fallbacks of kernel-backed ops -----

    private void HostSoftmaxForward(Tensor x, Tensor? mask, bool causal, Tensor y)
    {
        using var h = new HostCall(this);
        CpuBackend.Instance.SoftmaxForward(h.In(x), mask is null ? null : h.In(mask), causal, h.Out(y));
        h.Commit();
    }

    private void HostBinary(BinaryOp op, Tensor a, Tensor b, Tensor output)
    {
        using var h = new HostCall(this);
        CpuBackend.Instance.Binary(op, h.In(a), h.In(b), h.Out(output));
        h.Commit();
    }

    private void HostSumTo(Tensor x, Tensor y)
    {
        using var h = new HostCall(this);
        CpuBackend.Instance.SumTo(h.In(x), h.Out(y));
        h.Commit();
    }

    /// <summary>Dtype conversions and copies the strided kernel cannot take; either side may be a CPU tensor.</summary>
    private void CopyOnHost(Tensor src, Tensor dst)
    {
        using var h = new HostCall(this);
        CpuBackend.Instance.Copy(h.In(src), h.Out(dst));
        h.Commit();
    }

    /// <summary>
    /// One host round trip: each device storage touched is mirrored once (whole, so any view of it works on the
    /// host unchanged), outputs are uploaded on <see cref="Commit"/>, and the mirrors are released on dispose.
    /// </summary>
    private sealed class HostCall : IDisposable
    {
        private readonly GpuBackend gpu;
        private readonly List<(TensorStorage Device, TensorStorage Host)> mirrors = new(4);
        private readonly List<Tensor> hostViews = new(6);
        private readonly List<(Tensor Device, Tensor Host)> outputs = new(3);

        public HostCall(GpuBackend gpu)
        {
            this.gpu = gpu;
            gpu.HostFallbackCalls++;
        }

        /// <summary>The tensor as a host view (itself when it already lives on the CPU).</summary>
        public Tensor In(Tensor t)
        {
            if (t.Storage is not GpuStorage device)
            {
                return t;
            }
            TensorStorage? host = null;
            foreach (var (d, hs) in mirrors)
            {
                if (ReferenceEquals(d, device))
                {
                    host = hs;
                }
            }
            if (host is null)
            {
                host = CpuBackend.Instance.Allocate(device.DType, device.Length, zero: false);
                gpu.Driver.CopyToHost(device.Pointer, Bytes((CpuStorage)host, 0, device.Length));
                mirrors.Add((device, host));
            }
            host.AddReference();
            var view = new Tensor(host, t.ShapeArray, t.StridesArray, t.Offset);
            hostViews.Add(view);
            return view;
        }

        /// <summary>A host view whose contents go back to the device on <see cref="Commit"/>.</summary>
        public Tensor Out(Tensor t)
        {
            var host = In(t);
            if (!ReferenceEquals(host, t))
            {
                outputs.Add((t, host));
            }
            return host;
        }

        public Tensor? OutOrNull(Tensor? t) => t is null ? null : Out(t);

        public void Commit()
        {
            foreach (var (device, host) in outputs)
            {
                var storage = (GpuStorage)device.Storage;
                // Outputs are contiguous by the IBackend contract; anything else goes back whole.
                var (start, count) = device.IsContiguous ? (device.Offset, device.Numel) : (0L, storage.Length);
                var size = DTypes.SizeOf(device.DType);
                gpu.Driver.CopyToDevice(storage.Pointer.Offset(start * size), Bytes((CpuStorage)host.Storage, start, count));
            }
        }

        public void Dispose()
        {
            foreach (var v in hostViews)
            {
                v.Dispose();
            }
            foreach (var (_, host) in mirrors)
            {
                host.Release();
            }
        }

        private static Span<byte> Bytes(CpuStorage s, long start, long count) => s.DType switch
        {
            DType.F32 => MemoryMarshal.AsBytes(s.Floats.AsSpan((int)start, (int)count)),
            DType.F16 or DType.BF16 => MemoryMarshal.AsBytes(s.Halves.AsSpan((int)start, (int)count)),
            DType.I32 => MemoryMarshal.AsBytes(s.Ints.AsSpan((int)start, (int)count)),
            _ => MemoryMarshal.AsBytes(s.Longs.AsSpan((int)start, (int)count)),
        };
    }
}
