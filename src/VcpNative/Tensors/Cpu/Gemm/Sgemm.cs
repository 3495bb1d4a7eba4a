// TEMPORARY reference GEMM so the runtime builds; replaced by the packed AVX2 kernel from the gemm branch.
namespace VcpNative.Tensors.Cpu;

public static unsafe class Sgemm
{
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                float sum = 0;
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a[(long)p * lda + i] : a[(long)i * lda + p];
                    var bv = transB ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
                    sum += av * bv;
                }
                var ci = (long)i * ldc + j;
                c[ci] = beta == 0 ? alpha * sum : alpha * sum + beta * c[ci];
            }
        }
    }
}
