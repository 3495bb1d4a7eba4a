namespace VcpNative.Tests;

/// <summary>Float64 references for the float kernels under test (independent of the kernels' own fits).</summary>
internal static class Float64Math
{
    /// <summary>erf by its Taylor series (|x| &lt; 3) or the continued fraction of erfc, in float64.</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 3)
        {
            double term = ax, sum = ax;
            for (int n = 1; n < 200; n++)
            {
                term *= -ax * ax / n;
                sum += term / (2 * n + 1);
                if (Math.Abs(term) < 1e-17)
                {
                    break;
                }
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (int n = 60; n >= 1; n--)
            {
                f = n / 2.0 / (ax + f);
            }
            r = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }
}
