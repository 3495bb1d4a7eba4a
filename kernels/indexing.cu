// indexing.cu - gathers and their adjoint scatters without float atomics: embedding lookup, the im2col/col2im of
// the stride == kernel patch convolution and of the 1-D convolution, and the top-k gradient scatter.
//   embedding_forward: out[n, j] = weight[ids[n], j], weight f32 / f16 / bf16 (dtype 0 / 1 / 2, widened per
//     element); ids I32. An id outside [0, vocab) writes 0 and sets *bad = 1 (the host raises). Grid-stride over N*D.
//   embedding_backward: thread per (token n, channel j); only the FIRST token carrying its id writes, summing gy over
//     every token with that id in token order (fp32, the CPU's order), so repeated ids need no atomics and the
//     result is bit-identical to the CPU; rows of ids never seen stay as the caller zeroed them. O(N^2 D) work,
//     meant for prompt-sized N (a few hundred tokens).
//   patch_unfold / patch_fold: one thread per cols / gx element (grid-stride), index arithmetic only.
//   conv1d_unfold: one thread per cols element. conv1d_fold: one thread per gx element, summing its K taps in
//     ascending k (the CPU's order, fp32).
//   topk_backward: thread per (row, j): gx[row, indices[row, j]] = g[row, j] (indices in a row are distinct).
// Launch shape: block 256, grid min(ceil(work / 256), 65535).
#include "vcp_device.h"

static __device__ __forceinline__ float vcp_bits_to_float(unsigned int b) { return __builtin_bit_cast(float, b); }

// IEEE binary16 -> binary32, exact (subnormals scaled by 2^-24, which is exact in fp32). Written with masks and
// one shift of the magnitude so that it compiles to plain and/shl/add (no bfe).
static __device__ __forceinline__ float vcp_half_to_float(unsigned short h)
{
    unsigned int u = (unsigned int)h;
    unsigned int sign = (u & 0x8000u) << 16;
    unsigned int e = u & 0x7c00u;
    unsigned int m = u & 0x3ffu;
    if (e == 0x7c00u) return vcp_bits_to_float(sign | 0x7f800000u | (m << 13));
    if (e == 0u)
    {
        float v = (float)m * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return vcp_bits_to_float(sign | (((u & 0x7fffu) << 13) + 0x38000000u));
}

extern "C" __global__ void embedding_forward(float* out, const void* weight, const int* ids, int* bad,
                                             long long tokens, int dim, int vocab, int dtype)
{
    VCP_GRID_STRIDE(i, tokens * dim)
    {
        long long n = i / dim;
        int j = (int)(i - n * dim);
        int id = ids[n];
        if (id < 0 || id >= vocab)
        {
            out[i] = 0.0f;
            *bad = 1;
            continue;
        }
        long long src = (long long)id * dim + j;
        float v;
        if (dtype == 0) v = ((const float*)weight)[src];
        else if (dtype == 1) v = vcp_half_to_float(((const unsigned short*)weight)[src]);
        else v = vcp_bits_to_float((unsigned int)((const unsigned short*)weight)[src] << 16);
        out[i] = v;
    }
}

extern "C" __global__ void embedding_backward(float* gweight, const int* ids, const float* gy, int tokens, int dim)
{
    VCP_GRID_STRIDE(i, (long long)tokens * dim)
    {
        int n = (int)(i / dim);
        int j = (int)(i - (long long)n * dim);
        int id = ids[n];
        int first = 1;
        for (int m = 0; m < n; m++)
        {
            if (ids[m] == id) { first = 0; break; }
        }
        if (!first) continue;
        // gWeight arrives zeroed: 0 + gy[n] + gy[n'] + ... in token order, as the CPU's sequential row adds.
        float acc = 0.0f + gy[(long long)n * dim + j];
        for (int m = n + 1; m < tokens; m++)
        {
            if (ids[m] == id) acc += gy[(long long)m * dim + j];
        }
        gweight[(long long)id * dim + j] = acc;
    }
}

// cols[b, (c*P + ky)*P + kx, i*Wp + j] = x[b, c, i*P + ky, j*P + kx]; one thread per cols element.
extern "C" __global__ void patch_unfold(float* cols, const float* x, int batch, int channels, int h, int w, int p)
{
    int hp = h / p, wp = w / p;
    long long positions = (long long)hp * wp;
    long long rows = (long long)channels * p * p;
    VCP_GRID_STRIDE(e, (long long)batch * rows * positions)
    {
        long long pos = e % positions;
        long long rest = e / positions;
        int kx = (int)(rest % p); rest /= p;
        int ky = (int)(rest % p); rest /= p;      // rest = b * C + c
        int i = (int)(pos / wp), j = (int)(pos % wp);
        cols[e] = x[(rest * h + (long long)i * p + ky) * w + (long long)j * p + kx];
    }
}

// gx[b, c, y, x] = cols[...] where (y, x) lies in a full patch, else 0; one thread per gx element.
extern "C" __global__ void patch_fold(float* gx, const float* cols, int batch, int channels, int h, int w, int p)
{
    int hp = h / p, wp = w / p;
    long long positions = (long long)hp * wp;
    VCP_GRID_STRIDE(e, (long long)batch * channels * h * w)
    {
        int xx = (int)(e % w);
        long long rest = e / w;
        int yy = (int)(rest % h);
        long long plane = rest / h;               // b * C + c
        if (yy >= hp * p || xx >= wp * p) { gx[e] = 0.0f; continue; }
        int i = yy / p, ky = yy - i * p, j = xx / p, kx = xx - j * p;
        gx[e] = cols[((plane * p + ky) * p + kx) * positions + (long long)i * wp + j];
    }
}

// cols[plane, k, t] = x[plane, t + k - padding] (0 outside [0, L)); one thread per cols element.
extern "C" __global__ void conv1d_unfold(float* cols, const float* x, long long planes, int length, int kernel,
                                         int padding, int lout)
{
    VCP_GRID_STRIDE(e, planes * kernel * lout)
    {
        int t = (int)(e % lout);
        long long rest = e / lout;
        int k = (int)(rest % kernel);
        long long plane = rest / kernel;
        int s = t + k - padding;
        cols[e] = s >= 0 && s < length ? x[plane * length + s] : 0.0f;
    }
}

// gx[plane, s] = sum over k (ascending) of cols[plane, k, s + padding - k] for t in [0, lout).
extern "C" __global__ void conv1d_fold(float* gx, const float* cols, long long planes, int length, int kernel,
                                       int padding, int lout)
{
    VCP_GRID_STRIDE(e, planes * length)
    {
        int s = (int)(e % length);
        long long plane = e / length;
        float acc = 0.0f;
        for (int k = 0; k < kernel; k++)
        {
            int t = s + padding - k;
            if (t >= 0 && t < lout) acc += cols[(plane * kernel + k) * lout + t];
        }
        gx[e] = acc;
    }
}

extern "C" __global__ void topk_backward(float* gx, const int* indices, const float* gvalues, long long rows, int k, int n)
{
    VCP_GRID_STRIDE(e, rows * k)
    {
        long long r = e / k;
        gx[r * n + indices[e]] = gvalues[e];
    }
}
