// oob_write.cu - TEST ONLY, never shipped: a kernel with a planted out-of-bounds store, used to check that the
//   PTX emulator reports the offending block and thread. Thread (bad_thread) of block (bad_block) writes
//   out[n] (one past the end); every other thread writes out[i] for i < n. Launch: grid = ceil(n / blockDim).
#include "../vcp_device.h"

extern "C" __global__ void oob_write(float* out, int n, int bad_block, int bad_thread)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if ((int)blockIdx.x == bad_block && (int)threadIdx.x == bad_thread) { out[n] = 1.0f; return; }
    if (i < n) out[i] = (float)i;
}
