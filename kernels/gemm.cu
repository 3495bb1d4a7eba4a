// gemm.cu - tiled SIMT fp32 GEMM, row-major, batched: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b].
//   op(A) is M x K: A[m*lda + k] (trans_a = 0) or A[k*lda + m] (trans_a = 1); op(B) is K x N: B[k*ldb + n]
//   (trans_b = 0) or B[n*ldb + k] (trans_b = 1). Batch b = blockIdx.z, operands offset by stride_a/b/c
//   elements. beta == 0 never reads C (so NaN garbage in C does not leak).
//   Algorithm: 64 x 64 block tile, K step 16, operand tiles staged in shared memory (k-major), 256 threads
//   each owning a 4 x 4 micro-tile (rows ty + 16 i, cols tx + 16 j, strided to spread shared-memory banks).
//   Any M, N, K: out-of-range tile elements load as 0 and out-of-range outputs are not stored.
//   Launch: block = (256), grid = (ceil(N / 64), ceil(M / 64), batch). Accumulation in fp32 (fma).
// linear_f32: the fused linear layer y = act(x W^T + b) for x [M,K], W [N,K] (row-major, PyTorch layout), bias [N]
//   (or null), act 0 = none, 1 = exact GELU, 2 = QuickGELU: the same tiles, with bias and activation applied in the
//   epilogue while the accumulators are in registers, so the output is written once (no separate bias/GELU pass).
//   Launch: block = (256), grid = (ceil(N / 64), ceil(M / 64), 1).
#include "vcp_device.h"

#define GEMM_BM 64
#define GEMM_BN 64
#define GEMM_BK 16
#define GEMM_THREADS 256

static __device__ __forceinline__ void gemm_tile(float* c, const float* a, const float* b, int m, int n, int k,
                                                 int lda, int ldb, int ldc, int trans_a, int trans_b, float alpha, float beta,
                                                 long long stride_a, long long stride_b, long long stride_c,
                                                 const float* bias, int activation)
{
    __shared__ float as[GEMM_BK][GEMM_BM];
    __shared__ float bs[GEMM_BK][GEMM_BN];
    a += stride_a * blockIdx.z;
    b += stride_b * blockIdx.z;
    c += stride_c * blockIdx.z;
    int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    int m0 = blockIdx.y * GEMM_BM, n0 = blockIdx.x * GEMM_BN;
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < k; k0 += GEMM_BK)
    {
        for (int e = tid; e < GEMM_BM * GEMM_BK; e += GEMM_THREADS)
        {
            // Pick the tile coordinate whose memory stride is 1 as the fast index, so loads coalesce.
            int kk = trans_a ? e / GEMM_BM : e % GEMM_BK;
            int mm = trans_a ? e % GEMM_BM : e / GEMM_BK;
            int gm = m0 + mm, gk = k0 + kk;
            float v = 0.0f;
            if (gm < m && gk < k) v = trans_a ? a[(long long)gk * lda + gm] : a[(long long)gm * lda + gk];
            as[kk][mm] = v;
            int kb = trans_b ? e % GEMM_BK : e / GEMM_BN;
            int nn = trans_b ? e / GEMM_BK : e % GEMM_BN;
            int gn = n0 + nn, gkb = k0 + kb;
            float w = 0.0f;
            if (gn < n && gkb < k) w = trans_b ? b[(long long)gn * ldb + gkb] : b[(long long)gkb * ldb + gn];
            bs[kb][nn] = w;
        }
        VCP_SYNC();
        for (int kk = 0; kk < GEMM_BK; kk++)
        {
            float ra[4], rb[4];
            for (int i = 0; i < 4; i++) ra[i] = as[kk][ty + 16 * i];
            for (int j = 0; j < 4; j++) rb[j] = bs[kk][tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = __builtin_fmaf(ra[i], rb[j], acc[i][j]);
        }
        VCP_SYNC();
    }

    for (int i = 0; i < 4; i++)
    {
        int gm = m0 + ty + 16 * i;
        if (gm >= m) continue;
        for (int j = 0; j < 4; j++)
        {
            int gn = n0 + tx + 16 * j;
            if (gn >= n) continue;
            long long idx = (long long)gm * ldc + gn;
            float v = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[idx];
            if (bias) v += bias[gn];
            if (activation == 1) v = gelu_exact(v);
            else if (activation == 2) v = quick_gelu(v);
            c[idx] = v;
        }
    }
}

extern "C" __global__ void gemm_f32(float* c, const float* a, const float* b, int m, int n, int k,
                                    int lda, int ldb, int ldc, int trans_a, int trans_b, float alpha, float beta,
                                    long long stride_a, long long stride_b, long long stride_c)
{
    gemm_tile(c, a, b, m, n, k, lda, ldb, ldc, trans_a, trans_b, alpha, beta, stride_a, stride_b, stride_c, 0, 0);
}

extern "C" __global__ void linear_f32(float* y, const float* x, const float* w, const float* bias, int m, int n, int k,
                                      int activation)
{
    gemm_tile(y, x, w, m, n, k, k, k, n, 0, 1, 1.0f, 0.0f, 0, 0, 0, bias, activation);
}
