// Set-up shared by the row kernels (softmax, norms, top-k, embedding, im2col, resampling): a dense tensor's backing array, its row count and chunking.
namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>
    /// Backing array and element offset of a contiguous f32 CPU tensor (checked as <see cref="Dense"/> does); kernels
    /// take the array rather than a span because their parallel loop bodies are lambdas, which cannot capture spans.
    /// </summary>
    internal static (float[] Data, int Offset) DenseArray(Tensor t)
    {
        _ = Dense(t);
        return (Cpu(t).Floats, (int)t.Offset);
    }

    /// <summary>How many rows of <paramref name="rowLength"/> elements <paramref name="t"/> holds (0 for empty rows).</summary>
    private static int LastAxisRows(Tensor t, int rowLength) => rowLength == 0 ? 0 : (int)(t.Numel / rowLength);

    /// <summary>Rows per parallel chunk so that one chunk covers about <paramref name="elements"/> elements, at least one row.</summary>
    private static int RowsPerChunk(int rowLength, int elements) => Math.Max(1, elements / Math.Max(1, rowLength));
}
