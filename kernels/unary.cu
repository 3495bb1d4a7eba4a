// unary.cu - elementwise unary math and its backward, over contiguous fp32 arrays of n elements.
//   unary_f32:          y = f(x) for the op codes below (alpha parameterises add_scalar and pow).
//   unary_backward_f32: dx = dy * f'(x), given the forward input x and output y (some derivatives use y).
//   Op codes (GpuBackend maps UnaryOp to these): 0 neg, 1 exp, 2 log, 3 sqrt, 4 abs, 5 square, 6 relu,
//     7 sigmoid, 8 tanh, 9 add_scalar (x + alpha), 10 pow (x ^ alpha). Scale, GELU and QuickGELU have their
//     own kernels (scale_f32 in elementwise.cu, bias_*gelu_* in gelu.cu).
//   Launch: 1-D grid-stride loop, block = 256, grid = min(ceil(n / 256), 65535); dy/dx may alias.
//   Precision (fp32): exp/log/pow go through ex2.approx/lg2.approx (a few ulp; pow's relative error grows like
//   |alpha * log2 x| * 2^-22); sqrt is sqrt.rn; tanh uses a Taylor series below |x| = 0.125 and
//   1 - 2 / (exp(2|x|) + 1) above (absolute error ~1e-7). pow of a negative base is defined for integral
//   alpha only (NaN otherwise), as in C's powf.
#include "vcp_device.h"

#define VCP_GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                                   i += (long long)blockDim.x * gridDim.x)

#if defined(__clang__) && !defined(__NVCC__)
#define VCP_LG2(x) __nvvm_lg2_approx_f(x)
#else
#define VCP_LG2(x) __log2f(x)
#endif

static __device__ __forceinline__ float vcp_logf(float x) { return VCP_LG2(x) * 0.69314718055994531f; }

static __device__ __forceinline__ float vcp_tanhf(float x)
{
    float a = x < 0.0f ? -x : x;
    if (a < 0.125f)
    {
        float x2 = x * x;
        return x * (1.0f + x2 * (-0.33333333f + x2 * (0.13333333f + x2 * -0.053968254f)));
    }
    float r = 1.0f - 2.0f / (vcp_expf(2.0f * a) + 1.0f);
    return x < 0.0f ? -r : r;
}

static __device__ __forceinline__ float vcp_powf(float x, float a)
{
    if (a == 0.0f) return 1.0f;
    if (a == 1.0f) return x;
    if (a == 2.0f) return x * x;
    float ax = x < 0.0f ? -x : x;
    if (ax == 0.0f) return a > 0.0f ? 0.0f : __builtin_inff();
    float r = VCP_EX2(a * VCP_LG2(ax));
    if (x < 0.0f)
    {
        if (__builtin_floorf(a) != a) return __builtin_nanf("");
        long long ia = (long long)a;
        if (ia & 1) r = -r;
    }
    return r;
}

static __device__ __forceinline__ float unary_forward(int op, float x, float alpha)
{
    switch (op)
    {
    case 0: return -x;
    case 1: return vcp_expf(x);
    case 2: return vcp_logf(x);
    case 3: return __builtin_sqrtf(x);
    case 4: return x < 0.0f ? -x : x;
    case 5: return x * x;
    case 6: return x > 0.0f ? x : 0.0f;
    case 7: return vcp_sigmoidf(x);
    case 8: return vcp_tanhf(x);
    case 9: return x + alpha;
    default: return vcp_powf(x, alpha);
    }
}

static __device__ __forceinline__ float unary_derivative(int op, float x, float y, float alpha)
{
    switch (op)
    {
    case 0: return -1.0f;
    case 1: return y;
    case 2: return 1.0f / x;
    case 3: return 0.5f / y;
    case 4: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case 5: return 2.0f * x;
    case 6: return x > 0.0f ? 1.0f : 0.0f;
    case 7: return y * (1.0f - y);
    case 8: return 1.0f - y * y;
    case 9: return 1.0f;
    default: return alpha * vcp_powf(x, alpha - 1.0f);
    }
}

extern "C" __global__ void unary_f32(float* y, const float* x, long long n, int op, float alpha)
{
    VCP_GRID_STRIDE(i, n) y[i] = unary_forward(op, x[i], alpha);
}

extern "C" __global__ void unary_backward_f32(float* dx, const float* dy, const float* x, const float* y,
                                              long long n, int op, float alpha)
{
    VCP_GRID_STRIDE(i, n) dx[i] = dy[i] * unary_derivative(op, x[i], y[i], alpha);
}
