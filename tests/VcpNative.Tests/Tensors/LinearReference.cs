// The float64 reference of a linear layer, x W^T + b, shared by the fused-linear and compressed-weight tests.
namespace VcpNative.Tests.Tensors;

internal static class LinearReference
{
    /// <summary>y[i, j] = bias[j] + sum_l x[i, l] w[j, l] in double; x [rows, k], w [n, k] row-major, bias [n] or null.</summary>
    public static double[] Compute(float[] x, float[] w, float[]? bias, int rows, int n, int k)
    {
        var y = new double[rows * n];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double acc = bias is null ? 0 : bias[j];
                for (var l = 0; l < k; l++)
                {
                    acc += (double)x[(i * k) + l] * w[(j * k) + l];
                }
                y[(i * n) + j] = acc;
            }
        }
        return y;
    }
}
