// adam.cu - one torch.optim.Adam step (single-tensor path, PyTorch 1.13 operation order, amsgrad off, no weight
// decay) per element, with explicitly rounded fp32 operations (mul.rn/add.rn/div.rn/sqrt.rn: no FMA contraction)
// so the result is bit-identical to CpuBackend.AdamStep:
//   m = m*b1 + (1-b1)*g;  v = v*b2 + ((1-b2)*g)*g;  denom = sqrt(v)/bc2_sqrt + eps;  p = p + (neg_step*m)/denom
// The step-dependent scalars (neg_step = -lr/(1-b1^t), bc2_sqrt = sqrt(1-b2^t)) are computed on the host in
// float64 (AdamCoefficients). Grid-stride, block 256, grid min(ceil(n / 256), 65535).
#include "vcp_device.h"

// Inline PTX: the backend fuses a separate fmul + fadd into fma whenever fp-contract is fast (the CUDA default),
// even for the __nvvm_*_rn builtins, so the roundings are pinned with explicit instructions.
static __device__ __forceinline__ float vcp_mul_rn(float a, float b) { float r; asm("mul.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
static __device__ __forceinline__ float vcp_add_rn(float a, float b) { float r; asm("add.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
static __device__ __forceinline__ float vcp_div_rn(float a, float b) { float r; asm("div.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
static __device__ __forceinline__ float vcp_sqrt_rn(float a) { float r; asm("sqrt.rn.f32 %0, %1;" : "=f"(r) : "f"(a)); return r; }
#define VCP_MUL_RN(a, b) vcp_mul_rn((a), (b))
#define VCP_ADD_RN(a, b) vcp_add_rn((a), (b))
#define VCP_DIV_RN(a, b) vcp_div_rn((a), (b))
#define VCP_SQRT_RN(a) vcp_sqrt_rn(a)

extern "C" __global__ void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                                     float beta1, float one_minus_beta1, float beta2, float one_minus_beta2,
                                     float neg_step_size, float bias_correction2_sqrt, float eps, long long n)
{
    VCP_GRID_STRIDE(i, n)
    {
        float g = grad[i];
        float m = VCP_ADD_RN(VCP_MUL_RN(exp_avg[i], beta1), VCP_MUL_RN(one_minus_beta1, g));
        float v = VCP_ADD_RN(VCP_MUL_RN(exp_avg_sq[i], beta2), VCP_MUL_RN(VCP_MUL_RN(one_minus_beta2, g), g));
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        float denom = VCP_ADD_RN(VCP_DIV_RN(VCP_SQRT_RN(v), bias_correction2_sqrt), eps);
        param[i] = VCP_ADD_RN(param[i], VCP_DIV_RN(VCP_MUL_RN(neg_step_size, m), denom));
    }
}
