// strided.cu - kernels over strided views of rank <= 6 (dims merged on the host first): copy, broadcast
// binary ops, and a general sum over any set of axes.
//   strided_copy_f32:     dst[dst_off(i)] = src[src_off(i)] for every logical index i < n of the shape d0..d5
//     (row-major, d0 outermost; unused leading dims are 1). Strides in elements, 0 = broadcast.
//   broadcast_binary_f32: out[i] = a[a_off(i)] (op) b[b_off(i)], out contiguous; ops 0 add, 1 sub, 2 mul,
//     3 div, 4 max, 5 min (NaN propagates from either operand, like TensorPrimitives.Max/Min).
//   sum_axes_f32: y[j] = sum over the reduced index space (r0..r5, strides rs0..rs5) of x at the kept
//     index j (k0..k5, strides ks0..ks5); one thread per output, fp64 accumulation in a fixed order
//     (deterministic; the fast paths row_sum / column_sum in elementwise.cu cover the common shapes).
//   Launch: 1-D grid-stride loop over n (or the y count), block = 256, grid = min(ceil(n / 256), 65535).
//   Index arithmetic: 64-bit div/mod per dimension; exact, no rounding involved.
#include "vcp_device.h"

#define VCP_GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                                   i += (long long)blockDim.x * gridDim.x)

// Offset of logical index i (row-major over d0..d5) under strides s0..s5.
static __device__ __forceinline__ long long offset6(long long i, int d0, int d1, int d2, int d3, int d4, int d5,
                                                    long long s0, long long s1, long long s2, long long s3,
                                                    long long s4, long long s5)
{
    long long o = 0, q;
    q = i / d5; o += (i - q * d5) * s5; i = q;
    q = i / d4; o += (i - q * d4) * s4; i = q;
    q = i / d3; o += (i - q * d3) * s3; i = q;
    q = i / d2; o += (i - q * d2) * s2; i = q;
    q = i / d1; o += (i - q * d1) * s1; i = q;
    return o + i * s0;
}

extern "C" __global__ void strided_copy_f32(float* dst, const float* src, long long n,
                                            int d0, int d1, int d2, int d3, int d4, int d5,
                                            long long ds0, long long ds1, long long ds2, long long ds3, long long ds4, long long ds5,
                                            long long ss0, long long ss1, long long ss2, long long ss3, long long ss4, long long ss5)
{
    VCP_GRID_STRIDE(i, n)
        dst[offset6(i, d0, d1, d2, d3, d4, d5, ds0, ds1, ds2, ds3, ds4, ds5)] =
            src[offset6(i, d0, d1, d2, d3, d4, d5, ss0, ss1, ss2, ss3, ss4, ss5)];
}

static __device__ __forceinline__ float binary_apply(int op, float a, float b)
{
    switch (op)
    {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return (a != a || b != b) ? a + b : (a > b ? a : b);
    default: return (a != a || b != b) ? a + b : (a < b ? a : b);
    }
}

extern "C" __global__ void broadcast_binary_f32(float* out, const float* a, const float* b, long long n, int op,
                                                int d0, int d1, int d2, int d3, int d4, int d5,
                                                long long as0, long long as1, long long as2, long long as3, long long as4, long long as5,
                                                long long bs0, long long bs1, long long bs2, long long bs3, long long bs4, long long bs5)
{
    VCP_GRID_STRIDE(i, n)
        out[i] = binary_apply(op, a[offset6(i, d0, d1, d2, d3, d4, d5, as0, as1, as2, as3, as4, as5)],
                              b[offset6(i, d0, d1, d2, d3, d4, d5, bs0, bs1, bs2, bs3, bs4, bs5)]);
}

extern "C" __global__ void sum_axes_f32(float* y, const float* x, long long ny, long long nreduced,
                                        int k0, int k1, int k2, int k3, int k4, int k5,
                                        long long ks0, long long ks1, long long ks2, long long ks3, long long ks4, long long ks5,
                                        int r0, int r1, int r2, int r3, int r4, int r5,
                                        long long rs0, long long rs1, long long rs2, long long rs3, long long rs4, long long rs5)
{
    VCP_GRID_STRIDE(j, ny)
    {
        const float* base = x + offset6(j, k0, k1, k2, k3, k4, k5, ks0, ks1, ks2, ks3, ks4, ks5);
        double s = 0.0;
        for (long long r = 0; r < nreduced; r++) s += base[offset6(r, r0, r1, r2, r3, r4, r5, rs0, rs1, rs2, rs3, rs4, rs5)];
        y[j] = (float)s;
    }
}
