// l2norm.cu - L2-normalise rows of a row-major [rows, cols] tensor, no epsilon (CLIP feature normalisation).
//   l2norm_forward:  y = x / ||x||; writes norm[row] when norm != null.
//   l2norm_backward: dx = (dy - y * dot(dy, y)) / norm, from the forward's y and norm (what IBackend supplies).
//   Launch: one warp per row, block = 32 * rows_per_block, grid = ceil(rows / rows_per_block); fp32 sums.
#include "vcp_device.h"

static __device__ __forceinline__ float row_sumsq(const float* xr, int cols, int lane)
{
    float s = 0.0f;
    for (int c = lane; c < cols; c += VCP_WARP) s += xr[c] * xr[c];
    return vcp_warp_sum(s);
}

extern "C" __global__ void l2norm_forward(float* y, float* norm, const float* x, int rows, int cols)
{
    int row = blockIdx.x * (blockDim.x / VCP_WARP) + threadIdx.x / VCP_WARP;
    int lane = threadIdx.x % VCP_WARP;
    if (row >= rows) return;
    const float* xr = x + (long long)row * cols;
    float n = __builtin_sqrtf(row_sumsq(xr, cols, lane));
    float inv = 1.0f / n;
    for (int c = lane; c < cols; c += VCP_WARP) y[(long long)row * cols + c] = xr[c] * inv;
    if (norm && lane == 0) norm[row] = n;
}

extern "C" __global__ void l2norm_backward(float* dx, const float* dy, const float* y, const float* norm, int rows, int cols, int accumulate)
{
    int row = blockIdx.x * (blockDim.x / VCP_WARP) + threadIdx.x / VCP_WARP;
    int lane = threadIdx.x % VCP_WARP;
    if (row >= rows) return;
    long long base = (long long)row * cols;
    const float* yr = y + base;
    float inv = 1.0f / norm[row];
    float dot = 0.0f;
    for (int c = lane; c < cols; c += VCP_WARP) dot += dy[base + c] * yr[c];
    dot = vcp_warp_sum(dot);
    for (int c = lane; c < cols; c += VCP_WARP)
    {
        float d = (dy[base + c] - yr[c] * dot) * inv;
        dx[base + c] = accumulate ? dx[base + c] + d : d;
    }
}
