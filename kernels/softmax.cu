// softmax.cu - numerically stable softmax over the last dimension of a row-major [rows, cols] tensor.
//   softmax_forward:  y = exp(s - max(s)) / sum, s = x + mask[(row % mask_rows) * cols + col] (mask optional:
//     null = none; additive, e.g. 0 / -inf; broadcast over rows by the modulus). causal != 0 masks col > q +
//     (cols - q_len) with q = row % q_len (query q sees keys up to its own position, right-aligned when
//     keys outnumber queries). A fully masked row outputs zeros instead of NaN.
//   softmax_backward: dx = y * (dy - sum(dy * y)).
//   Launch: one warp per row, block = 32 * rows_per_block (e.g. 128), grid = ceil(rows / rows_per_block).
//   Three passes over the row (max, sum, write) in fp32; warp-shuffle reductions.
#include "vcp_device.h"

static __device__ __forceinline__ float softmax_score(const float* xr, const float* mr, int c, int limit)
{
    if (c > limit) return VCP_NEG_INF;
    return mr ? xr[c] + mr[c] : xr[c];
}

extern "C" __global__ void softmax_forward(float* y, const float* x, const float* mask, int mask_rows,
                                           int rows, int cols, int causal, int q_len)
{
    int row = blockIdx.x * (blockDim.x / VCP_WARP) + threadIdx.x / VCP_WARP;
    int lane = threadIdx.x % VCP_WARP;
    if (row >= rows) return;
    const float* xr = x + (long long)row * cols;
    const float* mr = mask ? mask + (long long)(row % mask_rows) * cols : 0;
    int limit = causal ? row % q_len + (cols - q_len) : cols;
    float m = VCP_NEG_INF;
    for (int c = lane; c < cols; c += VCP_WARP) { float s = softmax_score(xr, mr, c, limit); m = s > m ? s : m; }
    m = vcp_warp_max(m);
    float* yr = y + (long long)row * cols;
    if (m == VCP_NEG_INF)
    {
        for (int c = lane; c < cols; c += VCP_WARP) yr[c] = 0.0f;
        return;
    }
    float sum = 0.0f;
    for (int c = lane; c < cols; c += VCP_WARP) sum += vcp_expf(softmax_score(xr, mr, c, limit) - m);
    float inv = 1.0f / vcp_warp_sum(sum);
    for (int c = lane; c < cols; c += VCP_WARP) yr[c] = vcp_expf(softmax_score(xr, mr, c, limit) - m) * inv;
}

extern "C" __global__ void softmax_backward(float* dx, const float* dy, const float* y, int rows, int cols, int accumulate)
{
    int row = blockIdx.x * (blockDim.x / VCP_WARP) + threadIdx.x / VCP_WARP;
    int lane = threadIdx.x % VCP_WARP;
    if (row >= rows) return;
    long long base = (long long)row * cols;
    float dot = 0.0f;
    for (int c = lane; c < cols; c += VCP_WARP) dot += dy[base + c] * y[base + c];
    dot = vcp_warp_sum(dot);
    for (int c = lane; c < cols; c += VCP_WARP)
    {
        float d = y[base + c] * (dy[base + c] - dot);
        dx[base + c] = accumulate ? dx[base + c] + d : d;
    }
}
