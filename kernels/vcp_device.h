// vcp_device.h - the one shared header of the vcp-native CUDA kernels: attribute macros, device math
// (no libm/libdevice is linked) and warp reductions. Builds with nvcc or with clang-14 -nocudainc.
#pragma once

#if defined(__clang__) && !defined(__NVCC__)
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define VCP_SYNC() __syncthreads()
#define VCP_SHFL_XOR(v, m) __nvvm_shfl_sync_bfly_f32(0xffffffffu, (v), (m), 0x1f)
#define VCP_EX2(x) __nvvm_ex2_approx_f(x)
#define VCP_RSQRT(x) __nvvm_rsqrt_approx_f(x)
#define VCP_RCP(x) __nvvm_rcp_rn_f(x)
#else
#define VCP_SYNC() __syncthreads()
#define VCP_SHFL_XOR(v, m) __shfl_xor_sync(0xffffffffu, (v), (m))
#define VCP_EX2(x) exp2f(x)
#define VCP_RSQRT(x) rsqrtf(x)
#define VCP_RCP(x) __frcp_rn(x)
#endif

#define VCP_WARP 32
#define VCP_NEG_INF (-__builtin_inff())

// exp(x) through the hardware base-2 exponential (ex2.approx, ~2 ulp); relative error grows like |x|*2^-24.
static __device__ __forceinline__ float vcp_expf(float x) { return VCP_EX2(x * 1.4426950408889634f); }

// erfc for x >= 0 (Numerical Recipes erfcc, Chebyshev fit, fractional error < 1.2e-7).
static __device__ __forceinline__ float vcp_erfc_pos(float z)
{
    float t = VCP_RCP(1.0f + 0.5f * z);
    float p = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f +
              t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
    return t * vcp_expf(-z * z + p);
}

// erf(x) = 1 - erfc(|x|) with the sign restored; absolute error ~1.5e-7.
static __device__ __forceinline__ float vcp_erff(float x)
{
    float z = x < 0.0f ? -x : x;
    float r = 1.0f - vcp_erfc_pos(z);
    return x < 0.0f ? -r : r;
}

static __device__ __forceinline__ float vcp_sigmoidf(float x) { return VCP_RCP(1.0f + vcp_expf(-x)); }

// Activations shared by the elementwise kernels (gelu.cu) and the fused GEMM epilogue (gemm.cu).
static __device__ __forceinline__ float gelu_exact(float u) { return 0.5f * u * (1.0f + vcp_erff(u * 0.70710678118654752f)); }

static __device__ __forceinline__ float quick_gelu(float u) { return u * vcp_sigmoidf(1.702f * u); }

// Butterfly reductions leave the result in every lane of the warp.
static __device__ __forceinline__ float vcp_warp_sum(float v)
{
    for (int m = 16; m > 0; m >>= 1) v += VCP_SHFL_XOR(v, m);
    return v;
}

static __device__ __forceinline__ float vcp_warp_max(float v)
{
    for (int m = 16; m > 0; m >>= 1) { float o = VCP_SHFL_XOR(v, m); v = o > v ? o : v; }
    return v;
}

// Two fp32 values as one bf16x2 word (round to nearest even, NaN stays NaN), lo in bits 0-15: the k-pair layout of an
// mma.m16n8k16 bf16 fragment register. One cvt.rn.bf16x2.f32 (sm_80; its first source goes to the upper half).
static __device__ __forceinline__ unsigned vcp_bf16x2(float lo, float hi)
{
    unsigned d;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
    return d;
}

// The fp32 value of bf16 bits (exact).
static __device__ __forceinline__ float vcp_bf16_to_f32(unsigned bits) { return __builtin_bit_cast(float, bits << 16); }

// 1-D grid-stride loop over [0, n) with a 64-bit index.
#define VCP_GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                                   i += (long long)blockDim.x * gridDim.x)
