// attention.cu - fused scaled-dot-product attention, FlashAttention-2 style: out = softmax(scale q k^T (+causal)) v
// per (batch, head), never materialising the [Lq, Lk] matrix. q [B,H,Lq,D], k/v [B,H,Lk,D] are strided views
// (per-tensor batch/head/row strides as arguments, unit last stride); out, dout, grads [B,H,L,D] and lse/delta
// [B,H,Lq] are contiguous. Causal = top-left alignment: query i sees keys j <= i. D <= 128.
//   attention_forward: one block of 128 threads (4 warps) per (32-query tile, batch*head); grid = (ceil(Lq/32), B*H),
//     dynamic shared = (32*D + 32*(D|1)) floats. Warp w owns queries w*8..w*8+7, lane = key within a 32-key tile
//     (scores) and = output columns lane + 32u (P V). Keys are walked in tiles of 32 staged in shared memory (K, then V
//     in the same buffer); each row keeps its running max, per-lane partial sum and fp32 accumulator (online
//     softmax). Writes out and lse = max + log(sum).
//   attention_forward_rows: few queries over many keys (Post-VCP: 2 over 1369). One block of 128 threads per (query,
//     batch*head); grid = (Lq, B*H). The 4 warps take interleaved 32-key tiles, each with its own online softmax;
//     the partial (max, sum, acc) of the warps are combined in shared memory in warp order (deterministic).
//   attention_backward_delta: delta[row] = sum_c dout*out; warp per row, 4 rows per 128-thread block.
//   attention_backward_dkdv: one block per (key block of 4*rpw keys, batch*head), rpw = keys per warp (8, or 4 when
//     D > 96 so shared memory stays under 48 KB); loops over 32-query tiles, recomputes P from lse and accumulates
//     dV = P^T dO and dK = scale dS^T Q in registers; dynamic shared = (2*4*rpw*D + 32*(D|1)) floats.
//   attention_backward_dq: one block per (query block of 4*rpw queries, batch*head); loops over 32-key tiles and
//     accumulates dQ = scale dS K. Same shared size as dkdv. No atomics: every gradient element has one owner thread
//     and a fixed summation order, so results are bitwise reproducible.
//   Precision: fp32 accumulation (fma); exp/log via ex2.approx/lg2.approx. Null dk or dv skips that gradient's work.
#include "vcp_device.h"

#if defined(__clang__) && !defined(__NVCC__)
#define ATT_SHFL(v, src) __nvvm_shfl_sync_idx_f32(0xffffffffu, (v), (src), 0x1f)
#define ATT_LG2(x) __nvvm_lg2_approx_f(x)
#else
#define ATT_SHFL(v, src) __shfl_sync(0xffffffffu, (v), (src))
#define ATT_LG2(x) __log2f(x)
#endif

#define ATT_THREADS 128
#define ATT_WARPS 4
#define ATT_TILE 32   // keys (or queries) per staged tile = lanes per warp
#define ATT_ROWS 8    // max rows per warp (runtime rpw <= 8)
#define ATT_COLS 4    // column chunks of 32 per lane: D <= 128

static __device__ __forceinline__ int att_min(int a, int b) { return a < b ? a : b; }

static __device__ __forceinline__ float att_logf(float x) { return ATT_LG2(x) * 0.69314718055994531f; }

// dst[r * ld + c] = src[r * row + c] for r < rows (0 for rows <= r < 32), c < d; the whole block cooperates.
// acc[r] += rows[r] . mine for the warp's rpw rows (row stride d); rows beyond rpw (uniform per launch) are skipped.
static __device__ __forceinline__ void att_dot_rows(float acc[ATT_ROWS], const float* rows, const float* mine, int d, int rpw)
{
    for (int c = 0; c < d; c++)
    {
        float x = mine[c];
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++)
            if (r < rpw) acc[r] = __builtin_fmaf(rows[r * d + c], x, acc[r]);
    }
}

// acc[r][:] += sum_t coef_t[r] * buf[t][:] over the n staged rows, coef_t[r] taken from lane t by a shuffle: the
// rank-1 updates behind dK, dV and dQ. Each lane owns columns lane + 32 u (u < ATT_COLS, masked by col).
static __device__ __forceinline__ void att_accumulate_rows(float acc[ATT_ROWS][ATT_COLS], const float coef[ATT_ROWS],
                                                           const float* buf, int bs, int n, int lane,
                                                           const bool col[ATT_COLS], int rpw)
{
    for (int t = 0; t < n; t++)
    {
        float x[ATT_COLS];
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++) x[u] = col[u] ? buf[t * bs + lane + 32 * u] : 0.0f;
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++)
        {
            if (r < rpw) // uniform: rows beyond rpw do not exist
            {
                float g = ATT_SHFL(coef[r], t);
                #pragma unroll
                for (int u = 0; u < ATT_COLS; u++) acc[r][u] = __builtin_fmaf(g, x[u], acc[r][u]);
            }
        }
    }
}

static __device__ __forceinline__ void att_stage(float* dst, int ld, const float* src, long long row, int rows, int d,
                                                 float scale)
{
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    for (int r = w; r < ATT_TILE; r += ATT_WARPS)
        for (int c = lane; c < d; c += VCP_WARP) dst[r * ld + c] = r < rows ? src[r * row + c] * scale : 0.0f;
}

extern "C" __global__ void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                                             int heads, int lq, int lk, int d,
                                             long long q_batch, long long q_head, long long q_row,
                                             long long k_batch, long long k_head, long long k_row,
                                             long long v_batch, long long v_head, long long v_row,
                                             float scale, int causal)
{
    extern __shared__ float smem[];
    int ks = d | 1; // odd stride: lane j reading row j hits 32 distinct banks
    float* qs = smem;          // [32][d] scaled queries (broadcast reads)
    float* kv = smem + 32 * d; // [32][ks] K tile, then [32][d] V tile
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    int q0 = blockIdx.x * ATT_TILE;
    q += b * q_batch + h * q_head;
    k += b * k_batch + h * k_head;
    v += b * v_batch + h * v_head;
    att_stage(qs, d, q + q0 * q_row, q_row, att_min(ATT_TILE, lq - q0), d, scale);
    float m[ATT_ROWS], l[ATT_ROWS], acc[ATT_ROWS][ATT_COLS];
    #pragma unroll
    for (int r = 0; r < ATT_ROWS; r++)
    {
        m[r] = VCP_NEG_INF;
        l[r] = 0.0f;
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++) acc[r][u] = 0.0f;
    }
    bool col[ATT_COLS];
    #pragma unroll
    for (int u = 0; u < ATT_COLS; u++) col[u] = lane + 32 * u < d;
    int kend = causal ? att_min(lk, q0 + ATT_TILE) : lk;
    for (int k0 = 0; k0 < kend; k0 += ATT_TILE)
    {
        int nk = att_min(ATT_TILE, kend - k0);
        VCP_SYNC();
        att_stage(kv, ks, k + k0 * k_row, k_row, nk, d, 1.0f);
        VCP_SYNC();
        float s[ATT_ROWS];
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++) s[r] = 0.0f;
        const float* krow = kv + lane * ks;
        const float* qrow = qs + w * ATT_ROWS * d;
        for (int c = 0; c < d; c++)
        {
            float kc = krow[c];
            #pragma unroll
            for (int r = 0; r < ATT_ROWS; r++) s[r] = __builtin_fmaf(qrow[r * d + c], kc, s[r]);
        }
        int j = k0 + lane;
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++)
        {
            int i = q0 + w * ATT_ROWS + r;
            bool valid = lane < nk && (!causal || j <= i);
            float sv = valid ? s[r] : VCP_NEG_INF;
            float mt = vcp_warp_max(sv);
            float mn = mt > m[r] ? mt : m[r];
            // The first visible tile of a row has m = -inf: nothing accumulated yet to rescale.
            float alpha = m[r] == VCP_NEG_INF ? 0.0f : vcp_expf(m[r] - mn);
            float p = valid ? vcp_expf(sv - mn) : 0.0f;
            l[r] = l[r] * alpha + p;
            m[r] = mn;
            #pragma unroll
            for (int u = 0; u < ATT_COLS; u++) acc[r][u] *= alpha;
            s[r] = p;
        }
        VCP_SYNC();
        att_stage(kv, d, v + k0 * v_row, v_row, nk, d, 1.0f);
        VCP_SYNC();
        for (int jj = 0; jj < nk; jj++)
        {
            float vc[ATT_COLS];
            #pragma unroll
            for (int u = 0; u < ATT_COLS; u++) vc[u] = col[u] ? kv[jj * d + lane + 32 * u] : 0.0f;
            #pragma unroll
            for (int r = 0; r < ATT_ROWS; r++)
            {
                float pj = ATT_SHFL(s[r], jj);
                #pragma unroll
                for (int u = 0; u < ATT_COLS; u++) acc[r][u] = __builtin_fmaf(pj, vc[u], acc[r][u]);
            }
        }
    }
    #pragma unroll
    for (int r = 0; r < ATT_ROWS; r++)
    {
        int i = q0 + w * ATT_ROWS + r;
        if (i >= lq) break; // uniform per warp
        float sum = vcp_warp_sum(l[r]);
        float inv = 1.0f / sum;
        float* orow = out + ((long long)bh * lq + i) * d;
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++)
            if (col[u]) orow[lane + 32 * u] = acc[r][u] * inv;
        if (lse && lane == 0) lse[(long long)bh * lq + i] = m[r] + att_logf(sum);
    }
}

extern "C" __global__ void attention_forward_rows(float* out, float* lse, const float* q, const float* k, const float* v,
                                                  int heads, int lq, int lk, int d,
                                                  long long q_batch, long long q_head, long long q_row,
                                                  long long k_batch, long long k_head, long long k_row,
                                                  long long v_batch, long long v_head, long long v_row,
                                                  float scale, int causal)
{
    __shared__ float qs[ATT_COLS * VCP_WARP];
    __shared__ float part_m[ATT_WARPS], part_l[ATT_WARPS];
    __shared__ float part_acc[ATT_WARPS][ATT_COLS * VCP_WARP];
    int tid = threadIdx.x, w = tid >> 5, lane = tid & 31;
    int i = blockIdx.x, bh = blockIdx.y, b = bh / heads, h = bh % heads;
    q += b * q_batch + h * q_head + i * q_row;
    k += b * k_batch + h * k_head;
    v += b * v_batch + h * v_head;
    for (int c = tid; c < d; c += ATT_THREADS) qs[c] = q[c] * scale;
    VCP_SYNC();
    bool col[ATT_COLS];
    #pragma unroll
    for (int u = 0; u < ATT_COLS; u++) col[u] = lane + 32 * u < d;
    int kend = causal ? att_min(lk, i + 1) : lk;
    float m = VCP_NEG_INF, l = 0.0f, acc[ATT_COLS];
    #pragma unroll
    for (int u = 0; u < ATT_COLS; u++) acc[u] = 0.0f;
    for (int k0 = w * ATT_TILE; k0 < kend; k0 += ATT_WARPS * ATT_TILE)
    {
        int j = k0 + lane;
        bool valid = j < kend;
        float s = 0.0f;
        if (valid)
        {
            const float* krow = k + j * k_row;
            for (int c = 0; c < d; c++) s = __builtin_fmaf(qs[c], krow[c], s);
        }
        float sv = valid ? s : VCP_NEG_INF;
        float mt = vcp_warp_max(sv);
        float mn = mt > m ? mt : m;
        float alpha = m == VCP_NEG_INF ? 0.0f : vcp_expf(m - mn);
        float p = valid ? vcp_expf(sv - mn) : 0.0f;
        l = l * alpha + p;
        m = mn;
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++) acc[u] *= alpha;
        int nk = att_min(ATT_TILE, kend - k0);
        for (int jj = 0; jj < nk; jj++)
        {
            float pj = ATT_SHFL(p, jj);
            const float* vrow = v + (k0 + jj) * v_row;
            #pragma unroll
            for (int u = 0; u < ATT_COLS; u++)
                if (col[u]) acc[u] = __builtin_fmaf(pj, vrow[lane + 32 * u], acc[u]);
        }
    }
    l = vcp_warp_sum(l);
    if (lane == 0)
    {
        part_m[w] = m;
        part_l[w] = l;
    }
    #pragma unroll
    for (int u = 0; u < ATT_COLS; u++)
        if (col[u]) part_acc[w][lane + 32 * u] = acc[u];
    VCP_SYNC();
    // Combine the warps' partial softmaxes in warp order; a warp that saw no key has m = -inf and weight 0.
    float gm = VCP_NEG_INF;
    #pragma unroll
    for (int x = 0; x < ATT_WARPS; x++) gm = part_m[x] > gm ? part_m[x] : gm;
    float weight[ATT_WARPS], total = 0.0f;
    #pragma unroll
    for (int x = 0; x < ATT_WARPS; x++)
    {
        weight[x] = part_m[x] == VCP_NEG_INF ? 0.0f : vcp_expf(part_m[x] - gm);
        total += weight[x] * part_l[x];
    }
    float inv = 1.0f / total;
    float* orow = out + ((long long)bh * lq + i) * d;
    for (int c = tid; c < d; c += ATT_THREADS)
    {
        float o = 0.0f;
        #pragma unroll
        for (int x = 0; x < ATT_WARPS; x++)
            if (weight[x] != 0.0f) o += weight[x] * part_acc[x][c];
        orow[c] = o * inv;
    }
    if (lse && tid == 0) lse[(long long)bh * lq + i] = gm + att_logf(total);
}

extern "C" __global__ void attention_backward_delta(float* delta, const float* dout, const float* out, int rows, int d)
{
    int row = blockIdx.x * (blockDim.x / VCP_WARP) + threadIdx.x / VCP_WARP;
    int lane = threadIdx.x % VCP_WARP;
    if (row >= rows) return;
    long long base = (long long)row * d;
    float s = 0.0f;
    for (int c = lane; c < d; c += VCP_WARP) s = __builtin_fmaf(dout[base + c], out[base + c], s);
    s = vcp_warp_sum(s);
    if (lane == 0) delta[row] = s;
}

extern "C" __global__ void attention_backward_dkdv(float* dk, float* dv, const float* q, const float* k, const float* v,
                                                   const float* dout, const float* lse, const float* delta,
                                                   int heads, int lq, int lk, int d,
                                                   long long q_batch, long long q_head, long long q_row,
                                                   long long k_batch, long long k_head, long long k_row,
                                                   long long v_batch, long long v_head, long long v_row,
                                                   float scale, int causal, int rpw)
{
    extern __shared__ float smem[];
    int bk = ATT_WARPS * rpw, bs = d | 1;
    float* kblk = smem;              // [bk][d] this block's keys (broadcast reads)
    float* vblk = smem + bk * d;     // [bk][d] this block's values
    float* buf = smem + 2 * bk * d;  // [32][bs] a query tile of Q or dO (lane i reads row i)
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    int kb0 = blockIdx.x * bk;
    q += b * q_batch + h * q_head;
    k += b * k_batch + h * k_head;
    v += b * v_batch + h * v_head;
    const float* dob = dout + (long long)bh * lq * d;
    const float* lseb = lse + (long long)bh * lq;
    const float* deltab = delta + (long long)bh * lq;
    int nkb = att_min(bk, lk - kb0);
    for (int e = threadIdx.x; e < bk * d; e += ATT_THREADS)
    {
        int j = e / d, c = e - j * d;
        kblk[e] = j < nkb ? k[(kb0 + j) * k_row + c] : 0.0f;
        vblk[e] = j < nkb ? v[(kb0 + j) * v_row + c] : 0.0f;
    }
    bool col[ATT_COLS];
    #pragma unroll
    for (int u = 0; u < ATT_COLS; u++) col[u] = lane + 32 * u < d;
    float dka[ATT_ROWS][ATT_COLS], dva[ATT_ROWS][ATT_COLS];
    #pragma unroll
    for (int r = 0; r < ATT_ROWS; r++)
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++) dka[r][u] = dva[r][u] = 0.0f;
    const float* krows = kblk + w * rpw * d;
    const float* vrows = vblk + w * rpw * d;
    const float* mine = buf + lane * bs;
    // Causal: queries before this block's first key see none of its keys.
    for (int i0 = causal ? kb0 / ATT_TILE * ATT_TILE : 0; i0 < lq; i0 += ATT_TILE)
    {
        int nq = att_min(ATT_TILE, lq - i0), i = i0 + lane;
        bool qin = lane < nq;
        float lse_i = qin ? lseb[i] : 0.0f, delta_i = qin ? deltab[i] : 0.0f;
        float dp[ATT_ROWS], p[ATT_ROWS];
        if (dk)
        {
            VCP_SYNC();
            att_stage(buf, bs, dob + (long long)i0 * d, d, nq, d, 1.0f);
            VCP_SYNC();
            #pragma unroll
            for (int r = 0; r < ATT_ROWS; r++) dp[r] = 0.0f;
            att_dot_rows(dp, vrows, mine, d, rpw);
        }
        VCP_SYNC();
        att_stage(buf, bs, q + i0 * q_row, q_row, nq, d, 1.0f);
        VCP_SYNC();
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++) p[r] = 0.0f;
        att_dot_rows(p, krows, mine, d, rpw);
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++)
        {
            int j = kb0 + w * rpw + r;
            bool valid = qin && j < lk && (!causal || j <= i);
            p[r] = valid ? vcp_expf(p[r] * scale - lse_i) : 0.0f;
        }
        if (dk)
        {
            // dS = P (dP - delta); dK[j] += sum_i dS[i][j] Q[i] with Q still staged.
            #pragma unroll
            for (int r = 0; r < ATT_ROWS; r++) dp[r] = p[r] * (dp[r] - delta_i);
            att_accumulate_rows(dka, dp, buf, bs, nq, lane, col, rpw);
        }
        if (dv)
        {
            VCP_SYNC();
            att_stage(buf, bs, dob + (long long)i0 * d, d, nq, d, 1.0f);
            VCP_SYNC();
            att_accumulate_rows(dva, p, buf, bs, nq, lane, col, rpw);
        }
    }
    #pragma unroll
    for (int r = 0; r < ATT_ROWS; r++)
    {
        int j = kb0 + w * rpw + r;
        if (r >= rpw || j >= lk) continue;
        long long o = ((long long)bh * lk + j) * d;
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++)
        {
            if (!col[u]) continue;
            if (dk) dk[o + lane + 32 * u] = dka[r][u] * scale;
            if (dv) dv[o + lane + 32 * u] = dva[r][u];
        }
    }
}

extern "C" __global__ void attention_backward_dq(float* dq, const float* q, const float* k, const float* v,
                                                 const float* dout, const float* lse, const float* delta,
                                                 int heads, int lq, int lk, int d,
                                                 long long q_batch, long long q_head, long long q_row,
                                                 long long k_batch, long long k_head, long long k_row,
                                                 long long v_batch, long long v_head, long long v_row,
                                                 float scale, int causal, int rpw)
{
    extern __shared__ float smem[];
    int bq = ATT_WARPS * rpw, bs = d | 1;
    float* qblk = smem;              // [bq][d] this block's queries (broadcast reads)
    float* oblk = smem + bq * d;     // [bq][d] their output gradients
    float* buf = smem + 2 * bq * d;  // [32][bs] a key tile of V or K (lane j reads row j)
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    int q0 = blockIdx.x * bq;
    q += b * q_batch + h * q_head;
    k += b * k_batch + h * k_head;
    v += b * v_batch + h * v_head;
    const float* dob = dout + (long long)bh * lq * d;
    int nqb = att_min(bq, lq - q0);
    for (int e = threadIdx.x; e < bq * d; e += ATT_THREADS)
    {
        int r = e / d, c = e - r * d;
        qblk[e] = r < nqb ? q[(q0 + r) * q_row + c] : 0.0f;
        oblk[e] = r < nqb ? dob[(long long)(q0 + r) * d + c] : 0.0f;
    }
    float lse_r[ATT_ROWS], delta_r[ATT_ROWS], dqa[ATT_ROWS][ATT_COLS];
    #pragma unroll
    for (int r = 0; r < ATT_ROWS; r++)
    {
        int i = q0 + w * rpw + r;
        bool in = r < rpw && i < lq;
        lse_r[r] = in ? lse[(long long)bh * lq + i] : 0.0f;
        delta_r[r] = in ? delta[(long long)bh * lq + i] : 0.0f;
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++) dqa[r][u] = 0.0f;
    }
    bool col[ATT_COLS];
    #pragma unroll
    for (int u = 0; u < ATT_COLS; u++) col[u] = lane + 32 * u < d;
    const float* qrows = qblk + w * rpw * d;
    const float* orows = oblk + w * rpw * d;
    const float* mine = buf + lane * bs;
    int kend = causal ? att_min(lk, q0 + bq) : lk;
    for (int k0 = 0; k0 < kend; k0 += ATT_TILE)
    {
        int nk = att_min(ATT_TILE, kend - k0), j = k0 + lane;
        float dp[ATT_ROWS], p[ATT_ROWS];
        VCP_SYNC();
        att_stage(buf, bs, v + k0 * v_row, v_row, nk, d, 1.0f);
        VCP_SYNC();
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++) dp[r] = p[r] = 0.0f;
        att_dot_rows(dp, orows, mine, d, rpw);
        VCP_SYNC();
        att_stage(buf, bs, k + k0 * k_row, k_row, nk, d, 1.0f);
        VCP_SYNC();
        att_dot_rows(p, qrows, mine, d, rpw);
        #pragma unroll
        for (int r = 0; r < ATT_ROWS; r++)
        {
            int i = q0 + w * rpw + r;
            bool valid = r < rpw && i < lq && lane < nk && (!causal || j <= i);
            float pr = valid ? vcp_expf(p[r] * scale - lse_r[r]) : 0.0f;
            dp[r] = pr * (dp[r] - delta_r[r]);
        }
        // dQ[i] += sum_j dS[i][j] K[j] with K still staged.
        att_accumulate_rows(dqa, dp, buf, bs, nk, lane, col, rpw);
    }
    #pragma unroll
    for (int r = 0; r < ATT_ROWS; r++)
    {
        int i = q0 + w * rpw + r;
        if (r >= rpw || i >= lq) continue;
        long long o = ((long long)bh * lq + i) * d;
        #pragma unroll
        for (int u = 0; u < ATT_COLS; u++)
            if (col[u]) dq[o + lane + 32 * u] = dqa[r][u] * scale;
    }
}
