// gemm.cu - tiled SIMT fp32 GEMM, row-major, batched: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b].
//   op(A) is M x K: A[m*lda + k] (trans_a = 0) or A[k*lda + m] (trans_a = 1); op(B) is K x N: B[k*ldb + n]
//   (trans_b = 0) or B[n*ldb + k] (trans_b = 1). Batch b = blockIdx.z, operands offset by stride_a/b/c
//   elements. beta == 0 never reads C (so NaN garbage in C does not leak).
//   Algorithm: 64 x 64 block tile, K step 16, operand tiles staged in shared memory k-major (as[kk][mm],
//   bs[kk][nn]), 256 threads each owning a 4 x 4 micro-tile (rows ty + 16 i, cols tx + 16 j, strided to spread
//   shared-memory banks). Tile loads: each thread moves 4 elements of each operand; consecutive lanes take
//   consecutive elements along the operand's unit-stride dimension (k for A[m][k] / B[n][k], m or n otherwise),
//   so every warp load reads 128 contiguous bytes (16 k x 2 rows, or 32 m/n) - 4 sectors, none wasted.
//   Shared-memory layout: tile rows padded to GEMM_LDS = 66 words. Stores along k (the k-contiguous layouts)
//   write 16 kk x 2 mm with word offset 66 kk + mm, i.e. bank (2 kk + mm) % 32: all 32 banks distinct (without
//   the pad every kk of one mm hit the same bank, a 16-way conflict); stores along m/n write 32 consecutive
//   words. Inner-loop reads: as[kk][ty + 16 i] is 2 distinct words per warp (broadcast), bs[kk][tx + 16 j] 16
//   consecutive words: conflict-free for any pad.
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
#define GEMM_LDS (GEMM_BM + 2)   // padded shared tile row (words): k-contiguous stores hit 32 distinct banks
#define GEMM_PER_THREAD (GEMM_BM * GEMM_BK / GEMM_THREADS)

// Stage one 16 x 64 operand tile, tile[kk][rr] = op(P)[k0 + kk][r0 + rr] (0 outside rows x k), into shared memory.
// kcontig: element (r, kk) is p[r*ld + kk] (unit stride along k), else p[kk*ld + r]. Lanes run along the unit-stride
// dimension so loads coalesce; the per-element index math is hoisted into a base pointer and constant steps.
static __device__ __forceinline__ void gemm_stage(float (*tile)[GEMM_LDS], const float* p, int kcontig, long long ld,
                                                  int r0, int rows, int k0, int k, int tid)
{
    // k-contiguous: kk = tid % 16, rows tid / 16 + 16 i; otherwise rr = tid % 64, kk = tid / 64 + 4 i.
    int kk = kcontig ? tid % GEMM_BK : tid / GEMM_BM;
    int rr = kcontig ? tid / GEMM_BK : tid % GEMM_BM;
    int dk = kcontig ? 0 : GEMM_THREADS / GEMM_BM, dr = kcontig ? GEMM_THREADS / GEMM_BK : 0;
    long long step = kcontig ? dr * ld : dk * ld;
    const float* q = p + (kcontig ? (long long)(r0 + rr) * ld + k0 + kk : (long long)(k0 + kk) * ld + r0 + rr);
#pragma unroll
    for (int i = 0; i < GEMM_PER_THREAD; i++)
    {
        int ki = kk + i * dk, ri = rr + i * dr;
        tile[ki][ri] = r0 + ri < rows && k0 + ki < k ? q[i * step] : 0.0f;
    }
}

static __device__ __forceinline__ void gemm_tile(float* c, const float* a, const float* b, int m, int n, int k,
                                                 int lda, int ldb, int ldc, int trans_a, int trans_b, float alpha, float beta,
                                                 long long stride_a, long long stride_b, long long stride_c,
                                                 const float* bias, int activation)
{
    __shared__ float as[GEMM_BK][GEMM_LDS];   // as[kk][mm] = op(A)[m0 + mm][k0 + kk]
    __shared__ float bs[GEMM_BK][GEMM_LDS];   // bs[kk][nn] = op(B)[k0 + kk][n0 + nn]
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
        gemm_stage(as, a, !trans_a, lda, m0, m, k0, k, tid);
        gemm_stage(bs, b, trans_b, ldb, n0, n, k0, k, tid);
        VCP_SYNC();
        // Unrolled so the shared-memory offsets fold into the load immediates (no per-kk address arithmetic).
#pragma unroll
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
