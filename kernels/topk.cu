// topk.cu - top-k along the last axis, one block per row (blockDim a power of two, 32..1024).
//   Every element gets a distinct 64-bit key whose unsigned order is the wanted order: high half = order-preserving
//   image of the value (bitwise-negated for smallest; NaN above every number; -0 == +0), low half = ~index, so the
//   lower index wins ties (CpuBackend.TopK packs the same key).
//   1. Radix select of the k-th largest key: 8 passes over 8-bit digits from the top; each pass builds a 256-bin
//      histogram (shared-memory integer atomics: counts are exact, so the result is deterministic) of the elements
//      matching the digits chosen so far, and thread 0 picks the digit holding the k-th key.
//   2. The k keys >= that threshold are appended to this row's global scratch (pow2 >= k slots, padded with key 0,
//      which no element has), in any order.
//   3. A block-wide bitonic sort (descending) of the scratch fixes the order; values/indices are read off the keys.
// Work per row: 9 reads of the row + pow2 log^2(pow2) / 4 compare-swaps. Integer-only: results equal the CPU's.
#include "vcp_device.h"

static __device__ __forceinline__ unsigned long long topk_key(float v, int index, int largest)
{
    int rank;
    if (v != v)
    {
        rank = largest ? 0x7fffffff : (int)0x80000000u;
    }
    else
    {
        int bits = v == 0.0f ? 0 : __builtin_bit_cast(int, v);
        rank = bits >= 0 ? bits : bits ^ 0x7fffffff;
        if (!largest) rank = ~rank;
    }
    unsigned long long key = ((unsigned long long)(unsigned int)rank << 32) | (unsigned int)~index;
    return key ^ 0x8000000000000000ull;     // signed order of (rank, ~index) as unsigned order
}

extern "C" __global__ void topk_forward(float* values, int* indices, unsigned long long* scratch, const float* x,
                                        int n, int k, int largest, int pow2)
{
    __shared__ unsigned int hist[256];
    __shared__ unsigned long long s_prefix;
    __shared__ unsigned int s_remaining;
    __shared__ unsigned int s_count;
    const int tid = threadIdx.x;
    const long long row = blockIdx.x;
    const float* xr = x + row * n;
    unsigned long long* keys = scratch + row * pow2;
    if (tid == 0)
    {
        s_prefix = 0ull;
        s_remaining = (unsigned int)k;
        s_count = 0u;
    }
    unsigned long long mask = 0ull;
    for (int shift = 56; shift >= 0; shift -= 8)
    {
        for (int d = tid; d < 256; d += blockDim.x) hist[d] = 0u;
        VCP_SYNC();
        unsigned long long prefix = s_prefix;
        for (int i = tid; i < n; i += blockDim.x)
        {
            unsigned long long key = topk_key(xr[i], i, largest);
            if ((key & mask) == prefix) __nvvm_atom_add_gen_i((int*)&hist[(key >> shift) & 255ull], 1);
        }
        VCP_SYNC();
        if (tid == 0)
        {
            unsigned int rem = s_remaining, cum = 0u;
            int d = 255;
            for (; d > 0; d--)
            {
                if (cum + hist[d] >= rem) break;
                cum += hist[d];
            }
            s_remaining = rem - cum;
            s_prefix = prefix | ((unsigned long long)d << shift);
        }
        VCP_SYNC();
        mask |= 255ull << shift;
    }
    const unsigned long long threshold = s_prefix;     // the k-th largest key (keys are distinct)
    for (int i = tid; i < n; i += blockDim.x)
    {
        unsigned long long key = topk_key(xr[i], i, largest);
        if (key >= threshold)
        {
            int pos = __nvvm_atom_add_gen_i((int*)&s_count, 1);
            keys[pos] = key;
        }
    }
    for (int i = k + tid; i < pow2; i += blockDim.x) keys[i] = 0ull;
    VCP_SYNC();
    for (int size = 2; size <= pow2; size <<= 1)
    {
        for (int stride = size >> 1; stride > 0; stride >>= 1)
        {
            for (int t = tid; t < (pow2 >> 1); t += blockDim.x)
            {
                int lo = 2 * stride * (t / stride) + t % stride;
                int hi = lo + stride;
                unsigned long long a = keys[lo], b = keys[hi];
                int descending = (lo & size) == 0;
                if (descending ? a < b : a > b)
                {
                    keys[lo] = b;
                    keys[hi] = a;
                }
            }
            VCP_SYNC();
        }
    }
    for (int j = tid; j < k; j += blockDim.x)
    {
        int index = (int)~(unsigned int)keys[j];
        indices[row * k + j] = index;
        values[row * k + j] = xr[index];
    }
}
