// gemm_tc.cu - tensor-core GEMM: bf16 inputs, fp32 accumulation, batched, same contract as gemm_f32:
//   C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], op(A) M x K (trans_a: A[k*lda + m]), op(B) K x N
//   (trans_b: B[n*ldb + k]); beta == 0 never reads C.
//   Algorithm: 64 x 64 block tile, K step 32. Prologue of each K step: the fp32 tiles are read from global
//   memory, rounded to bf16 (round to nearest even) and stored in shared memory as k-pairs packed in one
//   32-bit word (the layout an mma fragment register wants), rows padded by 4 words so the fragment loads
//   hit 32 distinct banks. 4 warps, each owning a 32 x 32 sub-tile = 2 x 4 mma.sync.m16n8k16 (row.col)
//   per k16 step, with fragments read from shared memory by plain 32-bit loads (no ldmatrix).
//   Any M, N, K: out-of-range tile elements load as 0 and out-of-range outputs are not stored.
//   Launch: block = (128), grid = (ceil(N / 64), ceil(M / 64), batch). Accumulation in fp32 (mma .f32).
#include "vcp_device.h"

#define TC_BM 64
#define TC_BN 64
#define TC_BK 32
#define TC_KP (TC_BK / 2)     // packed bf16 pairs per tile row
#define TC_LD (TC_KP + 4)     // padded row length in words: fragment loads are bank-conflict free
#define TC_THREADS 128

// fp32 -> bf16 bits, round to nearest even; NaN stays a (quiet) NaN instead of rounding into infinity.
static __device__ __forceinline__ unsigned vcp_bf16_bits(float f)
{
    unsigned u = __builtin_bit_cast(unsigned, f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

static __device__ __forceinline__ float tc_load(const float* p, int trans, int lead, int r, int kk, int rows, int k, long long ld)
{
    // Element (r, kk) of a rows x k operand stored row-major (trans = 0: p[r*ld + kk]) or column-major.
    if (r >= rows || kk >= k) return 0.0f;
    return trans ? p[(long long)kk * ld + r] : p[(long long)r * ld + kk];
}

extern "C" __global__ void gemm_tc_bf16(float* c, const float* a, const float* b, int m, int n, int k,
                                        int lda, int ldb, int ldc, int trans_a, int trans_b, float alpha, float beta,
                                        long long stride_a, long long stride_b, long long stride_c)
{
    __shared__ unsigned as[TC_BM * TC_LD];   // as[row][kpair] = bf16(A[row][2kp]) | bf16(A[row][2kp+1]) << 16
    __shared__ unsigned bs[TC_BN * TC_LD];   // bs[col][kpair] = bf16(B[2kp][col]) | bf16(B[2kp+1][col]) << 16
    a += stride_a * blockIdx.z;
    b += stride_b * blockIdx.z;
    c += stride_c * blockIdx.z;
    int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    int group = lane >> 2, tig = lane & 3;
    int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
    int m0 = blockIdx.y * TC_BM, n0 = blockIdx.x * TC_BN;
    // op(B) is K x N; as an "N x K" operand it is row-major exactly when trans_b = 1.
    int b_rowmajor = trans_b;
    float acc[2][4][4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

    for (int k0 = 0; k0 < k; k0 += TC_BK)
    {
        for (int e = tid; e < TC_BM * TC_KP; e += TC_THREADS)
        {
            int r = e / TC_KP, kp = e % TC_KP, kk = k0 + 2 * kp;
            unsigned lo = vcp_bf16_bits(tc_load(a, trans_a, 0, m0 + r, kk, m, k, lda));
            unsigned hi = vcp_bf16_bits(tc_load(a, trans_a, 0, m0 + r, kk + 1, m, k, lda));
            as[r * TC_LD + kp] = lo | (hi << 16);
            lo = vcp_bf16_bits(tc_load(b, !b_rowmajor, 0, n0 + r, kk, n, k, ldb));
            hi = vcp_bf16_bits(tc_load(b, !b_rowmajor, 0, n0 + r, kk + 1, n, k, ldb));
            bs[r * TC_LD + kp] = lo | (hi << 16);
        }
        VCP_SYNC();
        for (int ks = 0; ks < TC_KP; ks += 8)
        {
            // Fragment registers per the PTX ISA m16n8k16 layouts: A rows group / group + 8, k pairs tig / tig + 4;
            // B column group, k pairs tig / tig + 4.
            unsigned fa[2][4], fb[4][2];
            for (int i = 0; i < 2; i++)
            {
                const unsigned* p = as + (wm + 16 * i + group) * TC_LD + ks + tig;
                fa[i][0] = p[0];
                fa[i][1] = p[8 * TC_LD];
                fa[i][2] = p[4];
                fa[i][3] = p[8 * TC_LD + 4];
            }
            for (int j = 0; j < 4; j++)
            {
                const unsigned* p = bs + (wn + 8 * j + group) * TC_LD + ks + tig;
                fb[j][0] = p[0];
                fb[j][1] = p[4];
            }
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 4; j++)
                    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                                 : "+f"(acc[i][j][0]), "+f"(acc[i][j][1]), "+f"(acc[i][j][2]), "+f"(acc[i][j][3])
                                 : "r"(fa[i][0]), "r"(fa[i][1]), "r"(fa[i][2]), "r"(fa[i][3]), "r"(fb[j][0]), "r"(fb[j][1]));
        }
        VCP_SYNC();
    }

    // Accumulator layout: c0, c1 at row group, cols 2 tig, 2 tig + 1; c2, c3 at row group + 8.
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int e = 0; e < 4; e++)
            {
                int gm = m0 + wm + 16 * i + group + (e >> 1) * 8;
                int gn = n0 + wn + 8 * j + 2 * tig + (e & 1);
                if (gm >= m || gn >= n) continue;
                long long idx = (long long)gm * ldc + gn;
                c[idx] = beta == 0.0f ? alpha * acc[i][j][e] : alpha * acc[i][j][e] + beta * c[idx];
            }
}
