// layernorm.cu - LayerNorm over the last dimension, forward and backward (llm.c style).
//   layernorm_forward:  out = (x - mean) * rstd * gamma + beta, saves mean[row], rstd[row] for backward.
//     One warp per row, blockDim = (32 * rows_per_block), grid = ceil(rows / rows_per_block); two-pass
//     mean/variance in fp32 with warp-shuffle sums (deterministic: fixed lane order).
//   layernorm_backward_dx: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma; warp per row,
//     same launch shape as forward; accumulate != 0 adds into dx (gradient accumulation).
//   layernorm_backward_params_partial: per column c and row chunk y, scratch[0][y][c] = sum dy*xhat,
//     scratch[1][y][c] = sum dy over rows [y*chunk_rows, (y+1)*chunk_rows); grid = (ceil(cols/blockDim.x), chunks),
//     block = (128). No float atomics: the final sums come from column_sum_final (elementwise.cu) over chunks,
//     in a fixed order, so dgamma/dbeta are bitwise reproducible. All accumulation is fp32.
#include "vcp_device.h"

extern "C" __global__ void layernorm_forward(float* out, float* mean_out, float* rstd_out, const float* x,
                                             const float* gamma, const float* beta, int rows, int cols, float eps)
{
    int row = blockIdx.x * (blockDim.x / VCP_WARP) + threadIdx.x / VCP_WARP;
    int lane = threadIdx.x % VCP_WARP;
    if (row >= rows) return;
    const float* xr = x + (long long)row * cols;
    float s = 0.0f;
    for (int c = lane; c < cols; c += VCP_WARP) s += xr[c];
    float mean = vcp_warp_sum(s) / (float)cols;
    float v = 0.0f;
    for (int c = lane; c < cols; c += VCP_WARP) { float d = xr[c] - mean; v += d * d; }
    float var = vcp_warp_sum(v) / (float)cols;
    float rstd = 1.0f / __builtin_sqrtf(var + eps);
    float* orow = out + (long long)row * cols;
    for (int c = lane; c < cols; c += VCP_WARP)
    {
        float n = (xr[c] - mean) * rstd;
        orow[c] = n * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
    }
    if (lane == 0)
    {
        if (mean_out) mean_out[row] = mean;
        if (rstd_out) rstd_out[row] = rstd;
    }
}

extern "C" __global__ void layernorm_backward_dx(float* dx, const float* dy, const float* x, const float* gamma,
                                                 const float* mean, const float* rstd, int rows, int cols, int accumulate)
{
    int row = blockIdx.x * (blockDim.x / VCP_WARP) + threadIdx.x / VCP_WARP;
    int lane = threadIdx.x % VCP_WARP;
    if (row >= rows) return;
    long long base = (long long)row * cols;
    float m = mean[row], r = rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int c = lane; c < cols; c += VCP_WARP)
    {
        float g = dy[base + c] * (gamma ? gamma[c] : 1.0f);
        sg += g;
        sgx += g * (x[base + c] - m) * r;
    }
    sg = vcp_warp_sum(sg) / (float)cols;
    sgx = vcp_warp_sum(sgx) / (float)cols;
    for (int c = lane; c < cols; c += VCP_WARP)
    {
        float g = dy[base + c] * (gamma ? gamma[c] : 1.0f);
        float xhat = (x[base + c] - m) * r;
        float d = r * (g - sg - xhat * sgx);
        dx[base + c] = accumulate ? dx[base + c] + d : d;
    }
}

extern "C" __global__ void layernorm_backward_params_partial(float* scratch, const float* dy, const float* x,
                                                             const float* mean, const float* rstd,
                                                             int rows, int cols, int chunk_rows)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    int r0 = blockIdx.y * chunk_rows;
    int r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
    float sgx = 0.0f, sg = 0.0f;
    for (int r = r0; r < r1; r++)
    {
        float g = dy[(long long)r * cols + c];
        sgx += g * (x[(long long)r * cols + c] - mean[r]) * rstd[r];
        sg += g;
    }
    long long plane = (long long)gridDim.y * cols;
    scratch[(long long)blockIdx.y * cols + c] = sgx;
    scratch[plane + (long long)blockIdx.y * cols + c] = sg;
}
