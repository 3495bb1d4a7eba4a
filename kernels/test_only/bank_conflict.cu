// bank_conflict.cu (test only) - thread t writes shared word (t * stride) % 1024 and reads its neighbour's word:
// stride 1 is conflict free, stride 2 a 2-way and stride 32 a 32-way bank conflict per warp access. Launch: block = (32), grid = (1).
#include "../vcp_device.h"

extern "C" __global__ void bank_conflict(float* out, int stride)
{
    __shared__ float s[1024];
    int t = threadIdx.x;
    int i = (t * stride) % 1024;
    s[i] = (float)t;
    VCP_SYNC();
    out[t] = s[(((t + 1) % 32) * stride) % 1024];
}
