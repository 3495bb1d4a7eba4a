// elementwise.cu - elementwise helpers and deterministic reductions.
//   add_f32: out = a + b; mul_f32: out = a * b; scale_f32: out = alpha * x; fill_f32: out = value.
//     1-D grid-stride loop, block = 256, grid = min(ceil(n / 256), 65535). out may alias an input.
//   widen_bf16_f32: out = fp32 value of bf16 bits (exact); same launch. Widens a bf16 device tensor for kernels that
//     read only fp32.
//   narrow_f32_bf16: out = bf16 bits of x, rounded to nearest even (cvt.rn.bf16x2, the rounding gemm_tc applies to its
//     inputs); same launch. Feeds cuBLAS's bf16 GEMM under bf16 precision.
//   row_sum: out[row] = sum_c x[row, c] (+ out[row] when accumulate). One block per row, blockDim a multiple
//     of 32 (<= 1024), dynamic shared = (blockDim / 32) * 4 bytes: warp-shuffle sums then a shared-memory
//     pass over warp partials, fixed order (deterministic). fp32 accumulation.
//   column_sum_partial: scratch[chunk][c] = sum over rows [chunk*chunk_rows, ...) of x[r, c];
//     grid = (ceil(cols / blockDim.x), chunks), block = 128. column_sum_final: out[c] (=|+=) sum_chunk
//     scratch[chunk][c]; grid = ceil(cols / 128), block = 128. Together: a column sum (bias gradient,
//     LayerNorm dgamma/dbeta) with no float atomics, reproducible bit for bit.
#include "vcp_device.h"

#define VCP_GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                                   i += (long long)blockDim.x * gridDim.x)

extern "C" __global__ void add_f32(float* out, const float* a, const float* b, long long n)
{
    VCP_GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

extern "C" __global__ void mul_f32(float* out, const float* a, const float* b, long long n)
{
    VCP_GRID_STRIDE(i, n) out[i] = a[i] * b[i];
}

extern "C" __global__ void scale_f32(float* out, const float* x, float alpha, long long n)
{
    VCP_GRID_STRIDE(i, n) out[i] = alpha * x[i];
}

extern "C" __global__ void fill_f32(float* out, float value, long long n)
{
    VCP_GRID_STRIDE(i, n) out[i] = value;
}

extern "C" __global__ void row_sum(float* out, const float* x, int rows, int cols, int accumulate)
{
    extern __shared__ float warp_partials[];
    int row = blockIdx.x;
    if (row >= rows) return;
    const float* xr = x + (long long)row * cols;
    float s = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
    s = vcp_warp_sum(s);
    int warp = threadIdx.x / VCP_WARP, lane = threadIdx.x % VCP_WARP, warps = blockDim.x / VCP_WARP;
    if (lane == 0) warp_partials[warp] = s;
    VCP_SYNC();
    if (warp == 0)
    {
        float t = lane < warps ? warp_partials[lane] : 0.0f;
        t = vcp_warp_sum(t);
        if (lane == 0) out[row] = accumulate ? out[row] + t : t;
    }
}

extern "C" __global__ void column_sum_partial(float* scratch, const float* x, int rows, int cols, int chunk_rows)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    int r0 = blockIdx.y * chunk_rows;
    int r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
    float s = 0.0f;
    for (int r = r0; r < r1; r++) s += x[(long long)r * cols + c];
    scratch[(long long)blockIdx.y * cols + c] = s;
}

extern "C" __global__ void column_sum_final(float* out, const float* scratch, int chunks, int cols, int accumulate)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += scratch[(long long)k * cols + c];
    out[c] = accumulate ? out[c] + s : s;
}

extern "C" __global__ void widen_bf16_f32(float* out, const unsigned short* x, long long n)
{
    VCP_GRID_STRIDE(i, n) out[i] = vcp_bf16_to_f32(x[i]);
}

extern "C" __global__ void narrow_f32_bf16(unsigned short* out, const float* x, long long n)
{
    VCP_GRID_STRIDE(i, n) out[i] = (unsigned short)(vcp_bf16x2(x[i], 0.0f) & 0xffffu);
}
