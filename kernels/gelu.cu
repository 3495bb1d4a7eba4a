// gelu.cu - bias + activation fused, forward and backward, elementwise over a row-major [rows, cols] tensor.
//   bias_gelu_forward:       out = gelu(x + bias[col]), exact erf GELU: 0.5*u*(1 + erf(u/sqrt(2))).
//   bias_gelu_backward:      dx = dy * (Phi(u) + u*phi(u)), u = x + bias[col] recomputed from the saved input.
//   bias_quick_gelu_forward:  out = u * sigmoid(1.702 u)            (CLIP's QuickGELU).
//   bias_quick_gelu_backward: dx = dy * (s + 1.702 u s (1 - s)), s = sigmoid(1.702 u).
//   bias may be null (no bias). dbias is the column sum of dx (column_sum_partial/final in elementwise.cu).
//   Launch: 1-D grid-stride loop, block = 256, grid = min(ceil(n / 256), 65535). erf is a Chebyshev erfc fit
//   (abs error ~1.5e-7) and exp uses ex2.approx; all math in fp32.
#include "vcp_device.h"

#define VCP_GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                                   i += (long long)blockDim.x * gridDim.x)

static __device__ __forceinline__ float gelu_exact_grad(float u)
{
    float cdf = 0.5f * (1.0f + vcp_erff(u * 0.70710678118654752f));
    float pdf = 0.3989422804014327f * vcp_expf(-0.5f * u * u);
    return cdf + u * pdf;
}

static __device__ __forceinline__ float quick_gelu_grad(float u)
{
    float s = vcp_sigmoidf(1.702f * u);
    return s + 1.702f * u * s * (1.0f - s);
}

static __device__ __forceinline__ float biased(const float* x, const float* bias, long long i, int cols)
{
    return bias ? x[i] + bias[i % cols] : x[i];
}

extern "C" __global__ void bias_gelu_forward(float* out, const float* x, const float* bias, long long n, int cols)
{
    VCP_GRID_STRIDE(i, n) out[i] = gelu_exact(biased(x, bias, i, cols));
}

extern "C" __global__ void bias_gelu_backward(float* dx, const float* dy, const float* x, const float* bias, long long n, int cols)
{
    VCP_GRID_STRIDE(i, n) dx[i] = dy[i] * gelu_exact_grad(biased(x, bias, i, cols));
}

extern "C" __global__ void bias_quick_gelu_forward(float* out, const float* x, const float* bias, long long n, int cols)
{
    VCP_GRID_STRIDE(i, n) out[i] = quick_gelu(biased(x, bias, i, cols));
}

extern "C" __global__ void bias_quick_gelu_backward(float* dx, const float* dy, const float* x, const float* bias, long long n, int cols)
{
    VCP_GRID_STRIDE(i, n) dx[i] = dy[i] * quick_gelu_grad(biased(x, bias, i, cols));
}
