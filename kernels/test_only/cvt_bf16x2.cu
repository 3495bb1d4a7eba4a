// cvt_bf16x2.cu (test only) - vcp_bf16x2 (cvt.rn.bf16x2.f32) per thread: d[i] = bf16(lo[i]) | bf16(hi[i]) << 16.
// Launch: block = (n), grid = (1).
#include "../vcp_device.h"

extern "C" __global__ void cvt_bf16x2(unsigned* d, const float* lo, const float* hi)
{
    int i = threadIdx.x;
    d[i] = vcp_bf16x2(lo[i], hi[i]);
}
