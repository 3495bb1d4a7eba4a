// Frame geometry from SOF: image size, MCU grid, and per component its sampling factors, block grid and coefficient storage.
namespace VcpNative.IO.Images;

internal sealed class JpegComponent
{
    public int Id;
    public int H;
    public int V;
    public int QuantTableIndex;

    /// <summary>Samples that hold image data: ceil(imageWidth * H / Hmax) (libjpeg's downsampled_width).</summary>
    public int SampleWidth;
    public int SampleHeight;

    /// <summary>Blocks covering the real samples; a scan with only this component visits exactly these.</summary>
    public int BlocksWide;
    public int BlocksHigh;

    /// <summary>Blocks in the padded MCU grid that interleaved scans visit (row stride of Coefficients, in blocks).</summary>
    public int PaddedBlocksWide;
    public int PaddedBlocksHigh;

    /// <summary>Quantised coefficients, 64 per block in natural (row-major) order, for the whole padded grid.</summary>
    public short[] Coefficients = [];

    /// <summary>Quantisation table latched at this component's first scan, natural order (as libjpeg does).</summary>
    public int[]? Quant;

    // Per-scan state.
    public int DcPredictor;
    public JpegHuffmanTable? DcTable;
    public JpegHuffmanTable? AcTable;
}

internal sealed class JpegFrame
{
    public bool Progressive;
    public int Width;
    public int Height;
    public int MaxH;
    public int MaxV;
    public int McusWide;
    public int McusHigh;
    public JpegComponent[] Components = [];

    public static int CeilDiv(int a, int b) => (a + b - 1) / b;

    /// <summary>Derives block and MCU grids once the SOF fields are read.</summary>
    public void ComputeGeometry()
    {
        MaxH = 1;
        MaxV = 1;
        foreach (var c in Components)
        {
            MaxH = Math.Max(MaxH, c.H);
            MaxV = Math.Max(MaxV, c.V);
        }

        McusWide = CeilDiv(Width, 8 * MaxH);
        McusHigh = CeilDiv(Height, 8 * MaxV);
        foreach (var c in Components)
        {
            c.SampleWidth = (int)(((long)Width * c.H + MaxH - 1) / MaxH);
            c.SampleHeight = (int)(((long)Height * c.V + MaxV - 1) / MaxV);
            c.BlocksWide = CeilDiv(c.SampleWidth, 8);
            c.BlocksHigh = CeilDiv(c.SampleHeight, 8);
            c.PaddedBlocksWide = McusWide * c.H;
            c.PaddedBlocksHigh = McusHigh * c.V;
        }
    }
}
