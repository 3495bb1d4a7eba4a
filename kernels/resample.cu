// resample.cu - one pass of the separable banded resampler (bilinear / antialiased bicubic resize, reflect
// Gaussian blur and their adjoints) along one axis of [planes, in_size, inner] -> [planes, out_size, inner]:
//   dst[p, o, c] = sum_{t < counts[o]} weights[o * max_taps + t] * src[p, starts[o] + t, c]
// The H pass runs with inner = W; the W pass with planes = P * rows, inner = 1. One thread per output element
// (grid-stride, block 256, grid min(ceil(n / 256), 65535)); taps in ascending t with fp32 weights and fp32
// accumulation (the CPU accumulates in float64; see GpuBackend.Resample.cs for the tolerance this costs).
#include "vcp_device.h"

extern "C" __global__ void resample_axis(float* dst, const float* src, const int* starts, const int* counts,
                                         const float* weights, long long planes, int in_size, int out_size,
                                         long long inner, int max_taps)
{
    VCP_GRID_STRIDE(e, planes * out_size * inner)
    {
        long long c = e % inner;
        long long rest = e / inner;
        int o = (int)(rest % out_size);
        long long p = rest / out_size;
        const float* s = src + (p * in_size + starts[o]) * inner + c;
        const float* w = weights + (long long)o * max_taps;
        int taps = counts[o];
        float acc = 0.0f;
        for (int t = 0; t < taps; t++) acc += w[t] * s[(long long)t * inner];
        dst[e] = acc;
    }
}
