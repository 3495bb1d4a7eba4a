// GPU separable resampling (resize, Gaussian blur and their adjoints) on kernels/resample.cu: two banded passes.
using System.Buffers;

namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    /// <summary>
    /// The CPU's two passes (same axis order, output rounded to fp32 between them) with the weight tables uploaded
    /// per call as fp32 and fp32 accumulation. Versus the CPU's float64 taps and sums, each pass differs by a few
    /// fp32 ulps of Σ|w·x| (≤ ~2e-6 relative for the 33-tap σ=4 Gaussian), which the verification cases bound.
    /// </summary>
    public void Resample2d(Tensor x, Tensor y, ResampleWeights alongH, ResampleWeights alongW, bool heightFirst)
    {
        var (h, w, oh, ow) = (alongH.InSize, alongW.InSize, alongH.OutSize, alongW.OutSize);
        var planes = x.Numel / Math.Max(1L, (long)h * w);
        if (x.Numel != planes * h * w || y.Numel != planes * oh * ow)
        {
            throw new ShapeMismatchException("resample2d", x.Shape, y.Shape, $"input/output vs tables ({h}x{w} -> {oh}x{ow})");
        }
        if (planes == 0)
        {
            return;
        }
        var midBytes = (heightFirst ? planes * oh * w : planes * h * ow) * sizeof(float);
        var tmp = Pool.Rent(midBytes);
        using var tableH = new DeviceResampleTable(this, alongH);
        using var tableW = new DeviceResampleTable(this, alongW);
        try
        {
            if (heightFirst)
            {
                ResampleAxis(tmp, Dense(x), tableH, planes, w);          // [P, oh, w]
                ResampleAxis(Dense(y), tmp, tableW, planes * oh, 1);     // [P, oh, ow]
            }
            else
            {
                ResampleAxis(tmp, Dense(x), tableW, planes * h, 1);      // [P, h, ow]
                ResampleAxis(Dense(y), tmp, tableH, planes, ow);         // [P, oh, ow]
            }
        }
        finally
        {
            Pool.Return(tmp, midBytes);
        }
    }

    private void ResampleAxis(DevicePtr dst, DevicePtr src, in DeviceResampleTable table, long planes, long inner) =>
        LaunchElementwise("resample", "resample_axis", planes * table.OutSize * inner,
            [dst, src, table.Starts, table.Counts, table.Weights, planes, table.InSize, table.OutSize, inner, table.MaxTaps]);

    /// <summary>A <see cref="ResampleWeights"/> table in one pooled device buffer: starts, counts (i32), weights (f32).</summary>
    private readonly struct DeviceResampleTable : IDisposable
    {
        private readonly GpuBackend gpu;
        private readonly DevicePtr buffer;
        private readonly long bytes;

        public DeviceResampleTable(GpuBackend gpu, ResampleWeights table)
        {
            this.gpu = gpu;
            InSize = table.InSize;
            OutSize = table.OutSize;
            MaxTaps = table.MaxTaps;
            var weightCount = table.Weights.Length;
            var intBytes = (long)OutSize * sizeof(int);
            bytes = 2 * intBytes + (long)weightCount * sizeof(float);
            buffer = gpu.Pool.Rent(bytes);
            Starts = buffer;
            Counts = buffer.Offset(intBytes);
            Weights = buffer.Offset(2 * intBytes);
            gpu.Driver.CopyToDevice(Starts, table.Starts);
            gpu.Driver.CopyToDevice(Counts, table.Counts);
            var narrowed = ArrayPool<float>.Shared.Rent(weightCount);
            try
            {
                var source = table.Weights;
                for (var i = 0; i < weightCount; i++)
                {
                    narrowed[i] = (float)source[i];
                }
                gpu.Driver.CopyToDevice(Weights, narrowed.AsSpan(0, weightCount));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(narrowed);
            }
        }

        public int InSize { get; }

        public int OutSize { get; }

        public int MaxTaps { get; }

        public DevicePtr Starts { get; }

        public DevicePtr Counts { get; }

        public DevicePtr Weights { get; }

        public void Dispose() => gpu.Pool.Return(buffer, bytes);
    }
}
