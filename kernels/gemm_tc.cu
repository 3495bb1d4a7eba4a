// gemm_tc.cu - tensor-core GEMM: bf16 inputs (B fp32 or bf16 in memory), fp32 accumulation, batched, same contract as gemm_f32:
//   C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], op(A) M x K (trans_a: A[k*lda + m]), op(B) K x N
//   (trans_b: B[n*ldb + k]); beta == 0 never reads C.
//   Algorithm: 64 x 64 block tile, K step 32. Prologue of each K step: the fp32 tiles are read from global
//   memory, rounded to bf16 (round to nearest even, cvt.rn.bf16x2.f32) and stored in shared memory as k-pairs packed in one
//   32-bit word (the layout an mma fragment register wants): as[row][kpair], bs[col][kpair], rows padded to
//   TC_LD = 20 words. 4 warps, each owning a 32 x 32 sub-tile = 2 x 4 mma.sync.m16n8k16 (row.col) per k16 step,
//   with fragments read from shared memory by plain 32-bit loads (no ldmatrix).
//   Prologue mapping, per operand layout (both operands are staged as "rows x k": A rows = m, B rows = n):
//   - k contiguous (A with trans_a = 0, B with trans_b = 1): lane = k, one row per warp load, so each load reads
//     128 contiguous bytes; each lane stores its bf16 as a 16-bit half of the packed word (lanes 2j, 2j + 1 fill
//     word j), so a warp store covers 16 consecutive words: conflict-free.
//   - rows contiguous (A with trans_a = 1, B with trans_b = 0, i.e. x @ W with W [K,N]): a warp covers 8
//     consecutive rows x 4 k-pairs; each lane loads k = 2 kp and 2 kp + 1 of its row (two loads, each 4 full
//     32-byte sectors per warp when ld and the base are multiples of 8 floats) and stores the packed word at row * 20 + kp: banks (20 row + kp) % 32 are 32
//     distinct for 8 consecutive rows x 4 consecutive kp, because 20 row % 32 = 4 * (5 row % 8) is 8 distinct
//     multiples of 4.
//   Fragment loads: word (base + group) * 20 + tig, banks (20 group + tig) % 32 distinct for the 8 groups x 4 tig
//   (the reason for the pad of 4: the row length must be 4 mod 8): conflict-free.
//   Epilogue: each lane's two adjacent accumulators go out as one 8-byte store where aligned (full sectors).
//   Any M, N, K: out-of-range tile elements load as 0 and out-of-range outputs are not stored.
//   Variants (one templated body, gemm_tc_body<TB>): gemm_tc_bf16 takes B as fp32 and rounds it while staging;
//   gemm_tc_bf16_wb16 takes B as bf16 bits (unsigned short; ldb and stride_b in bf16 elements), e.g. a linear weight
//   kept in bf16 on the device, and stages it without rounding: rows contiguous packs two 16-bit loads per word as
//   above; k contiguous (B = W [N,K], trans_b = 1: the linear layer's x W^T) copies each k-pair as the one aligned
//   32-bit word it already is (when B is 4-byte aligned and ldb even; otherwise, and for the odd tail of K, two 16-bit
//   loads): half-warp h of warp w copies row w + 4 h + 8 i, lane % 16 = pair, 64 contiguous bytes per half-warp, rows
//   4 apart so the two halves store to disjoint banks (20 * 4 % 32 = 16). A stays fp32 in both. On bf16-exact B the
//   two variants stage the same words, so their results are bit-identical.
//   Launch: block = (128), grid = (ceil(N / 64), ceil(M / 64), batch). Accumulation in fp32 (mma .f32).
#include "vcp_device.h"

#define TC_BM 64
#define TC_BN 64
#define TC_BK 32
#define TC_KP (TC_BK / 2)     // packed bf16 pairs per tile row
#define TC_LD (TC_KP + 4)     // padded row length in words: fragment loads are bank-conflict free
#define TC_THREADS 128

typedef float tc_float2 __attribute__((ext_vector_type(2)));   // 8-byte aligned pair: one ld/st.v2.f32

// Packs a k-pair as one fragment word (lo in bits 0-15): fp32 values are rounded to bf16, bf16 bits are packed as they are.
static __device__ __forceinline__ unsigned tc_pack(float lo, float hi) { return vcp_bf16x2(lo, hi); }
static __device__ __forceinline__ unsigned tc_pack(unsigned short lo, unsigned short hi) { return lo | (unsigned)hi << 16; }

// Rows-contiguous staging (P(r, kk) = p[kk*ld + r]), the same for fp32 and bf16 elements T.
// Lane (rl = lane % 8, kq = lane / 8); warp w covers rows 8 w + 32 i + rl (i = 0, 1) x k-pairs 4 j + kq (j < 4).
template <typename T>
static __device__ __forceinline__ void tc_stage_rows(unsigned* s, const T* p, long long ld, int r0, int rows, int k0, int k,
                                                     int lane, int warp)
{
    int rl = lane & 7, kq = lane >> 3;
    int rbase = 8 * warp + rl, kbase = k0 + 2 * kq;
    const T* q = p + (long long)kbase * ld + r0 + rbase;
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < TC_KP / 4; j++)
        {
            int rr = rbase + 32 * i, kk = kbase + 8 * j;
            bool in = r0 + rr < rows;
            const T* e = q + 32 * i + (long long)(8 * j) * ld;
            T lo = in && kk < k ? e[0] : (T)0;
            T hi = in && kk + 1 < k ? e[ld] : (T)0;
            s[rr * TC_LD + 4 * j + kq] = tc_pack(lo, hi);
        }
}

// Stage one 64-row x 32-k operand tile as packed bf16 k-pairs, s[rr * TC_LD + kp] = bf16(P(r0 + rr, k0 + 2 kp)) |
// bf16(P(r0 + rr, k0 + 2 kp + 1)) << 16, with P(r, kk) = p[r*ld + kk] when kcontig, else p[kk*ld + r]; elements
// outside rows x k are 0. Lane mapping per layout as described in the header; index math hoisted out of the loops.
static __device__ __forceinline__ void tc_stage(unsigned* s, const float* p, int kcontig, long long ld, int r0, int rows,
                                                int k0, int k, int tid)
{
    int lane = tid & 31, warp = tid >> 5;
    if (kcontig)
    {
        // Warp w loads rows w, w + 4, ..., w + 60; lane = k within the tile.
        unsigned short* h = (unsigned short*)s;
        int gk = k0 + lane;
        const float* q = p + (long long)(r0 + warp) * ld + gk;
        long long step = 4 * ld;
        // Unrolled 4 deep, not fully: fully unrolled, every row's offset is hoisted out of the K loop (16 live 64-bit
        // values per operand).
#pragma unroll 4
        for (int i = 0; i < TC_BM / 4; i++)
        {
            int rr = warp + 4 * i;
            float v = r0 + rr < rows && gk < k ? q[i * step] : 0.0f;
            h[rr * (2 * TC_LD) + lane] = (unsigned short)vcp_bf16x2(v, 0.0f);
        }
    }
    else
    {
        tc_stage_rows(s, p, ld, r0, rows, k0, k, lane, warp);
    }
}

// The same tile from bf16 bits (no rounding: the packed words are the operand's own bits). k contiguous: a k-pair is
// the 32-bit word at p + r*ld + k0 + 2 kp, loaded whole when `words` (p 4-byte aligned and ld even, so every pair is
// aligned) and both halves are inside k; otherwise (odd ld or base, the odd tail of k) as two 16-bit loads.
// Half-warp h of warp w copies row w + 4 h + 8 i (i < 8), lane % 16 = kp: 64 contiguous bytes per half-warp, and the
// two halves' rows are 4 apart, so their stores hit banks (20 * 4 + kp) % 32 = 16 + kp vs kp: conflict-free.
static __device__ __forceinline__ void tc_stage(unsigned* s, const unsigned short* p, int kcontig, long long ld, int r0,
                                                int rows, int k0, int k, int tid)
{
    int lane = tid & 31, warp = tid >> 5;
    if (kcontig)
    {
        int kp = lane & 15, rfirst = warp + 4 * (lane >> 4);
        int kk = k0 + 2 * kp;
        bool words = (((unsigned long long)p & 3) | (unsigned long long)(ld & 1)) == 0;
        const unsigned short* q = p + (long long)(r0 + rfirst) * ld + kk;
        long long step = 8 * ld;
#pragma unroll 4
        for (int i = 0; i < TC_BM / 8; i++)
        {
            int rr = rfirst + 8 * i;
            const unsigned short* e = q + i * step;
            unsigned w = 0;
            if (r0 + rr < rows)
            {
                if (words && kk + 1 < k) w = *(const unsigned*)e;
                else w = tc_pack(kk < k ? e[0] : (unsigned short)0, kk + 1 < k ? e[1] : (unsigned short)0);
            }
            s[rr * TC_LD + kp] = w;
        }
    }
    else
    {
        tc_stage_rows(s, p, ld, r0, rows, k0, k, lane, warp);
    }
}

// The kernel body, once for each B element type TB (float: rounded while staging; unsigned short: bf16 bits).
template <typename TB>
static __device__ __forceinline__ void gemm_tc_body(float* c, const float* a, const TB* b, int m, int n, int k,
                                                    int lda, int ldb, int ldc, int trans_a, int trans_b, float alpha,
                                                    float beta, long long stride_a, long long stride_b, long long stride_c)
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
    float acc[2][4][4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

    for (int k0 = 0; k0 < k; k0 += TC_BK)
    {
        tc_stage(as, a, !trans_a, lda, m0, m, k0, k, tid);
        tc_stage(bs, b, trans_b, ldb, n0, n, k0, k, tid);
        VCP_SYNC();
        // This thread's fragment offsets, opaque to the optimiser once per K step: otherwise it hoists the address of
        // each fragment load out of the K loop (dozens of live 64-bit pointers); this way each load is one base
        // register plus an immediate (see the register estimate of `kernels profile gemm_tc`).
        int afrag = (wm + group) * TC_LD + tig, bfrag = (wn + group) * TC_LD + tig;
        asm volatile("" : "+r"(afrag), "+r"(bfrag));
        for (int ks = 0; ks < TC_KP; ks += 8)
        {
            // Fragment registers per the PTX ISA m16n8k16 layouts: A rows group / group + 8, k pairs tig / tig + 4;
            // B column group, k pairs tig / tig + 4.
            unsigned fa[2][4], fb[4][2];
            for (int i = 0; i < 2; i++)
            {
                const unsigned* p = as + afrag + 16 * i * TC_LD + ks;
                fa[i][0] = p[0];
                fa[i][1] = p[8 * TC_LD];
                fa[i][2] = p[4];
                fa[i][3] = p[8 * TC_LD + 4];
            }
            for (int j = 0; j < 4; j++)
            {
                const unsigned* p = bs + bfrag + 8 * j * TC_LD + ks;
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

    // Accumulator layout: c0, c1 at row group, cols 2 tig, 2 tig + 1; c2, c3 at row group + 8. Each adjacent pair is
    // stored as one 8-byte store when it is in range and 8-byte aligned (even ldc), so a warp store writes 8 rows x
    // 32 contiguous bytes (8 full sectors) instead of half-used sectors; otherwise element by element.
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int h = 0; h < 2; h++)
            {
                int gm = m0 + wm + 16 * i + group + 8 * h;
                int gn = n0 + wn + 8 * j + 2 * tig;
                if (gm >= m || gn >= n) continue;
                float* p = c + (long long)gm * ldc + gn;
                float v0 = alpha * acc[i][j][2 * h], v1 = alpha * acc[i][j][2 * h + 1];
                if (gn + 1 < n && ((unsigned long long)p & 7) == 0)
                {
                    tc_float2* p2 = (tc_float2*)p;
                    tc_float2 v = {v0, v1};
                    if (beta != 0.0f) v += beta * *p2;
                    *p2 = v;
                    continue;
                }
                p[0] = beta == 0.0f ? v0 : v0 + beta * p[0];
                if (gn + 1 < n) p[1] = beta == 0.0f ? v1 : v1 + beta * p[1];
            }
}

#define TC_PARAMS(TB) float *c, const float *a, const TB *b, int m, int n, int k, int lda, int ldb, int ldc, int trans_a, \
                      int trans_b, float alpha, float beta, long long stride_a, long long stride_b, long long stride_c
#define TC_ARGS c, a, b, m, n, k, lda, ldb, ldc, trans_a, trans_b, alpha, beta, stride_a, stride_b, stride_c

// B as fp32, rounded to bf16 while staging.
extern "C" __global__ void gemm_tc_bf16(TC_PARAMS(float)) { gemm_tc_body(TC_ARGS); }

// B as bf16 bits (a weight kept in bf16 on the device); ldb and stride_b count bf16 elements.
extern "C" __global__ void gemm_tc_bf16_wb16(TC_PARAMS(unsigned short)) { gemm_tc_body(TC_ARGS); }
