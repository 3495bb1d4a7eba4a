// mma_single.cu (test only) - one mma.sync.m16n8k16 bf16 per warp: lane l loads its fragment registers a[4 l..4 l+3],
// b[2 l..2 l+1] and accumulators c[4 l..4 l+3] and stores d[4 l..4 l+3]. Launch: block = (32), grid = (1).
#include "../vcp_device.h"

extern "C" __global__ void mma_single(float* d, const unsigned* a, const unsigned* b, const float* c)
{
    int l = threadIdx.x;
    float d0 = c[4 * l], d1 = c[4 * l + 1], d2 = c[4 * l + 2], d3 = c[4 * l + 3];
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d0), "+f"(d1), "+f"(d2), "+f"(d3)
                 : "r"(a[4 * l]), "r"(a[4 * l + 1]), "r"(a[4 * l + 2]), "r"(a[4 * l + 3]), "r"(b[2 * l]), "r"(b[2 * l + 1]));
    d[4 * l] = d0;
    d[4 * l + 1] = d1;
    d[4 * l + 2] = d2;
    d[4 * l + 3] = d3;
}
