// attention_tc.cu - fused attention forward on tensor cores (inference): out = softmax(scale q k^T (+causal)) v and
// lse = logsumexp per query row, the same argument contract as attention_forward in attention.cu (strided q/k/v
// [B,H,L,D] views with unit last stride, contiguous out [B,H,Lq,D] and lse [B,H,Lq] (lse may be null), causal =
// top-left alignment), so attention.cu's backward runs unchanged on its lse.
//   Algorithm (FlashAttention-2): a block owns 64 queries of one (batch, head); warp w owns query rows 16w..16w+15 and
//     walks the keys in tiles of 64. Per tile: S[16 x 64] = Q K^T with mma.sync.m16n8k16 (bf16 in, fp32 accumulate;
//     8 key n-tiles x D/16 k-steps), scaled by scale*log2(e) in fp32, masked (Lk tail, causal) and folded into the
//     online softmax of each row in registers (running max m, sum l in base 2, O rescaled by 2^(m_old - m_new)).
//     P = 2^(S - m) is rounded to bf16 and the S accumulator registers are repacked in place as the A fragments of
//     O += P V (the m16n8 C layout of two adjacent key n-tiles is the m16k16 A layout), with no trip through shared
//     memory; l sums the same rounded P, so O is an exactly normalised average of the bf16 weights.
//     A thread holds rows g = lane/4 and g + 8 of its warp; the 4 lanes of a quad share a row (max by 2 shuffles,
//     l reduced once at the end). Tiles past the causal diagonal are not loaded; a warp whose rows are all past Lq
//     or all before a tile (causal) skips the math but still helps stage.
//   Variants: attention_forward_tc_bf16 for D <= 64, attention_forward_tc_bf16_d128 for 64 < D <= 128. D is padded
//     with zeros to the variant's 64 or 128 (zero columns add nothing to S; padded output columns are not stored).
//   Launch: block = (128) (4 warps), grid = (ceil(Lq / 64), B*H); static shared memory only.
//   Shared memory (32-bit words, bf16 pairs; DP = 64 or 128 padded head width):
//     ks [64][DP/2 + 4]: the block's Q tile first (read once into A-fragment registers), then each K tile, as
//       (d, d+1) pairs per row; a row of DP/2 + 4 = 4 * odd words makes the fragment loads (8 rows x 4 pairs)
//       hit 32 distinct banks.
//     vs [DP][64/2 + 4]: V^T, (key, key+1) pairs per head column, the k-pair layout of the P V B fragments; row
//       36 words: fragment loads and the transposing stores (8 key pairs x 4 column pairs per warp) are conflict-free.
//     18 KB (D <= 64) or 35 KB (D <= 128).
//   Global loads: Q and K rows as float2 (one 256-byte row segment per warp instruction) when the row pointers are
//     8-byte aligned and D is even, else two scalar loads; V as 8 rows x 32 bytes per warp instruction.
//   Precision: q, k, v and P rounded to bf16 (cvt.rn.bf16x2.f32, nearest even: 8 significant bits), products and sums in fp32
//     (mma .f32 accumulate), softmax statistics in fp32; exp/log via ex2.approx/lg2.approx.
#include "vcp_device.h"

#if defined(__clang__) && !defined(__NVCC__)
#define ATC_LG2(x) __nvvm_lg2_approx_f(x)
#else
#define ATC_LG2(x) __log2f(x)
#endif

#define ATC_THREADS 128
#define ATC_WARPS 4
#define ATC_BQ 64                 // queries per block (16 per warp)
#define ATC_BK 64                 // keys per staged tile
#define ATC_LDV (ATC_BK / 2 + 4)  // words per V^T row: 32 key pairs + 4 padding

typedef float atc_f2 __attribute__((ext_vector_type(2)));

static __device__ __forceinline__ int atc_min(int a, int b) { return a < b ? a : b; }

// Rows of a view are float2-readable when its pointer is 8-byte aligned and row stride and D are even.
static __device__ __forceinline__ bool atc_pairs_aligned(const float* p, long long row, int d)
{
    return (((unsigned long long)p & 7ull) | ((unsigned long long)row & 1ull) | ((unsigned)d & 1u)) == 0;
}

// Elements c and c + 1 of a row (0 past d or for a row that does not exist).
static __device__ __forceinline__ void atc_load2(const float* row, int c, int d, bool in, bool vec, float& x0, float& x1)
{
    x0 = 0.0f;
    x1 = 0.0f;
    if (!in || c >= d) return;
    if (vec)
    {
        // Inline PTX: written in C, LLVM splits the vector load and merges it with the scalar path below. A generic
        // address of global memory is its global address (as CUTLASS's ld.global wrappers also assume).
        asm("ld.global.v2.f32 {%0, %1}, [%2];" : "=f"(x0), "=f"(x1) : "l"(row + c));
        return;
    }
    x0 = row[c];
    if (c + 1 < d) x1 = row[c + 1];
}

// dst[r][w] = bf16x2(src[r][2w], src[r][2w+1]) for the 64 rows of a Q or K tile (zero rows past `rows`). A thread
// keeps one word column w = tid % (8 DT) and walks rows tid / (8 DT) + k * 128 / (8 DT): no index math per element.
template <int DT>
static __device__ __forceinline__ void atc_stage_rows(unsigned* dst, const float* src, long long row, int rows, int d, bool vec)
{
    const int words = 8 * DT, ld = 8 * DT + 4, step = ATC_THREADS / words;
    int w = threadIdx.x % words, r0 = threadIdx.x / words;
    const float* p = src + r0 * row;
    long long advance = step * row; // a running pointer: no 64-bit multiply per element
    unsigned* out = dst + r0 * ld + w;
    // Unrolled 4 deep, not fully: fully unrolled, the compiler hoists every row's address out of the tile loop (16 live
    // 64-bit pointers); 4 keeps most of the saved loop overhead.
    #pragma unroll 4
    for (int k = 0; k < ATC_BK / step; k++, p += advance)
    {
        float x0, x1;
        atc_load2(p, 2 * w, d, r0 + k * step < rows, vec, x0, x1);
        out[k * step * ld] = vcp_bf16x2(x0, x1);
    }
}

// dst[c][p] = bf16x2(src[2p][c], src[2p+1][c]): a V tile transposed into key pairs. Warp w, lane l owns key pair
// p = 8 w + l / 4 and column pairs c = 2 (l % 4) + 8 k: a warp instruction reads 8 rows x 32 bytes and stores to
// 32 distinct banks (V^T row stride 36 words).
template <int DT>
static __device__ __forceinline__ void atc_stage_vt(unsigned* dst, const float* src, long long row, int rows, int d, bool vec)
{
    int lane = threadIdx.x & 31, p = 8 * (threadIdx.x >> 5) + (lane >> 2);
    const float* even = src + (2 * p) * row;
    const float* odd = even + row;
    #pragma unroll 4
    for (int k = 0; k < 2 * DT; k++)
    {
        int c = 2 * (lane & 3) + 8 * k;
        float a0, a1, b0, b1;
        atc_load2(even, c, d, 2 * p < rows, vec, a0, a1);
        atc_load2(odd, c, d, 2 * p + 1 < rows, vec, b0, b1);
        dst[c * ATC_LDV + p] = vcp_bf16x2(a0, b0);
        dst[(c + 1) * ATC_LDV + p] = vcp_bf16x2(a1, b1);
    }
}

// acc += a (16x16, row) * b (16x8, col), bf16 in, fp32 accumulate.
static __device__ __forceinline__ void atc_mma(float acc[4], const unsigned a[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

#define ATC_PARAMS float *out, float *lse, const float *q, const float *k, const float *v, int heads, int lq, int lk, int d, \
                   long long q_batch, long long q_head, long long q_row, long long k_batch, long long k_head,            \
                   long long k_row, long long v_batch, long long v_head, long long v_row, float scale, int causal
#define ATC_ARGS out, lse, q, k, v, heads, lq, lk, d, q_batch, q_head, q_row, k_batch, k_head, k_row, \
                 v_batch, v_head, v_row, scale, causal

// DT = padded head width / 16 (4 or 8): the k-steps of Q K^T and half the n-tiles of P V.
template <int DT>
static __device__ __forceinline__ void atc_forward(unsigned* ks, unsigned* vs, ATC_PARAMS)
{
    const int ldk = 8 * DT + 4;
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    int q0 = blockIdx.x * ATC_BQ, row0 = q0 + 16 * w;
    q += b * q_batch + h * q_head;
    k += b * k_batch + h * k_head;
    v += b * v_batch + h * v_head;
    bool kvec = atc_pairs_aligned(k, k_row, d), vvec = atc_pairs_aligned(v, v_row, d);
    atc_stage_rows<DT>(ks, q + q0 * q_row, q_row, atc_min(ATC_BQ, lq - q0), d, atc_pairs_aligned(q, q_row, d));
    VCP_SYNC();
    // Q A fragments (PTX ISA m16n8k16 layout): rows g / g + 8, k pairs t / t + 4 of each 16-wide k-step.
    unsigned qf[DT][4];
    const unsigned* qa = ks + (16 * w + g) * ldk + t;
    #pragma unroll
    for (int kk = 0; kk < DT; kk++)
    {
        qf[kk][0] = qa[8 * kk];
        qf[kk][1] = qa[8 * ldk + 8 * kk];
        qf[kk][2] = qa[8 * kk + 4];
        qf[kk][3] = qa[8 * ldk + 8 * kk + 4];
    }
    float o[2 * DT][4], m[2], l[2], mu[2];
    #pragma unroll
    for (int dt = 0; dt < 2 * DT; dt++)
        #pragma unroll
        for (int e = 0; e < 4; e++) o[dt][e] = 0.0f;
    #pragma unroll
    for (int r = 0; r < 2; r++)
    {
        m[r] = VCP_NEG_INF;
        l[r] = 0.0f;
    }
    float sl2 = scale * 1.4426950408889634f; // scores in base 2: exp(x) = 2^(x log2 e)
    bool live = row0 < lq;
    int kend = causal ? atc_min(lk, q0 + ATC_BQ) : lk;
    for (int k0 = 0; k0 < kend; k0 += ATC_BK)
    {
        int nk = atc_min(ATC_BK, lk - k0);
        VCP_SYNC(); // every warp is done with the previous tile (or with Q)
        atc_stage_rows<DT>(ks, k + k0 * k_row, k_row, nk, d, kvec);
        atc_stage_vt<DT>(vs, v + k0 * v_row, v_row, nk, d, vvec);
        VCP_SYNC();
        if (!live || (causal && k0 > row0 + 15)) continue; // warp-uniform: nothing of this tile is visible
        // This thread's fragment offsets, made opaque to the optimiser once per tile: otherwise it hoists the address
        // of each of the 40 fragment loads below out of the tile loop (40 live 64-bit pointers); this way each load is
        // one base register plus an immediate, and the arrays stay visibly __shared__ (ld.shared, not generic ld).
        int kfrag = g * ldk + t, vfrag = g * ATC_LDV + t;
        asm volatile("" : "+r"(kfrag), "+r"(vfrag));
        float s[8][4];
        #pragma unroll
        for (int nt = 0; nt < 8; nt++)
        {
            #pragma unroll
            for (int e = 0; e < 4; e++) s[nt][e] = 0.0f;
            const unsigned* kb = ks + kfrag + 8 * nt * ldk;
            #pragma unroll
            for (int kk = 0; kk < DT; kk++) atc_mma(s[nt], qf[kk], kb[8 * kk], kb[8 * kk + 4]);
        }
        // Accumulator layout: s[nt][0..1] = row g, keys 8 nt + 2t (+1); s[nt][2..3] = row g + 8.
        bool edge = k0 + ATC_BK > lk || (causal && k0 + ATC_BK - 1 > row0);
        #pragma unroll
        for (int r = 0; r < 2; r++)
        {
            int i = row0 + g + 8 * r;
            float mx = VCP_NEG_INF;
            #pragma unroll
            for (int nt = 0; nt < 8; nt++)
                #pragma unroll
                for (int e = 0; e < 2; e++)
                {
                    float x = s[nt][2 * r + e] * sl2;
                    int j = k0 + 8 * nt + 2 * t + e;
                    if (edge && (j >= lk || (causal && j > i))) x = VCP_NEG_INF;
                    s[nt][2 * r + e] = x;
                    mx = x > mx ? x : mx;
                }
            float other = VCP_SHFL_XOR(mx, 1);
            mx = other > mx ? other : mx;
            other = VCP_SHFL_XOR(mx, 2);
            mx = other > mx ? other : mx;
            float mn = mx > m[r] ? mx : m[r];
            // Until a row has seen a visible key its max is -inf; offset by 0 then so that 2^(-inf - 0) = 0, not NaN.
            mu[r] = mn == VCP_NEG_INF ? 0.0f : mn;
            float alpha = VCP_EX2(m[r] - mu[r]);
            m[r] = mn;
            l[r] *= alpha;
            #pragma unroll
            for (int dt = 0; dt < 2 * DT; dt++)
            {
                o[dt][2 * r] *= alpha;
                o[dt][2 * r + 1] *= alpha;
            }
        }
        // P in bf16, repacked as A fragments: key step kk takes n-tiles 2kk (a0 row g, a1 row g+8) and 2kk+1 (a2, a3).
        unsigned pf[4][4];
        #pragma unroll
        for (int kk = 0; kk < 4; kk++)
            #pragma unroll
            for (int half = 0; half < 2; half++)
                #pragma unroll
                for (int r = 0; r < 2; r++)
                {
                    const float* sp = &s[2 * kk + half][2 * r];
                    unsigned bits = vcp_bf16x2(VCP_EX2(sp[0] - mu[r]), VCP_EX2(sp[1] - mu[r]));
                    l[r] += vcp_bf16_to_f32(bits & 0xffffu) + vcp_bf16_to_f32(bits >> 16);
                    pf[kk][2 * half + r] = bits;
                }
        // O[16 x DP] += P[16 x 64] V[64 x DP]: B fragments = V^T rows (head columns), key pairs t / t + 4.
        #pragma unroll
        for (int kk = 0; kk < 4; kk++)
            #pragma unroll
            for (int dt = 0; dt < 2 * DT; dt++)
            {
                const unsigned* vb = vs + vfrag + 8 * dt * ATC_LDV + 8 * kk;
                atc_mma(o[dt], pf[kk], vb[0], vb[4]);
            }
    }
    if (!live) return;
    bool ovec = atc_pairs_aligned(out, d, d);
    #pragma unroll
    for (int r = 0; r < 2; r++)
    {
        l[r] += VCP_SHFL_XOR(l[r], 1);
        l[r] += VCP_SHFL_XOR(l[r], 2);
        int i = row0 + g + 8 * r;
        if (i >= lq) continue;
        float inv = 1.0f / l[r];
        float* orow = out + ((long long)bh * lq + i) * d;
        // A quad writes 8 consecutive floats of a row: 8 rows x 32 bytes per warp store.
        #pragma unroll
        for (int dt = 0; dt < 2 * DT; dt++)
        {
            int c = 8 * dt + 2 * t;
            if (c >= d) continue;
            float x0 = o[dt][2 * r] * inv, x1 = o[dt][2 * r + 1] * inv;
            if (ovec)
            {
                atc_f2 x = {x0, x1};
                *(atc_f2*)(orow + c) = x;
            }
            else
            {
                orow[c] = x0;
                if (c + 1 < d) orow[c + 1] = x1;
            }
        }
        if (lse && t == 0) lse[(long long)bh * lq + i] = (m[r] + ATC_LG2(l[r])) * 0.69314718055994531f;
    }
}

extern "C" __global__ void attention_forward_tc_bf16(ATC_PARAMS)
{
    __shared__ unsigned ks[ATC_BK * (8 * 4 + 4)];
    __shared__ unsigned vs[64 * ATC_LDV];
    atc_forward<4>(ks, vs, ATC_ARGS);
}

extern "C" __global__ void attention_forward_tc_bf16_d128(ATC_PARAMS)
{
    __shared__ unsigned ks[ATC_BK * (8 * 8 + 4)];
    __shared__ unsigned vs[128 * ATC_LDV];
    atc_forward<8>(ks, vs, ATC_ARGS);
}
