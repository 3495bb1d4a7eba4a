// PillowResize, ClipPreprocess and MaskPreprocess against outputs of Pillow 9.4 / torch (tools/golden/make_image_fixtures.py).
using System.Runtime.InteropServices;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Tests.IO.Images;
using Xunit;

namespace VcpNative.Tests.Anomaly.Preprocessing;

public class PillowResizeGoldenTests
{
    /// <summary>The procedural sources of the fixture script (synthetic_source), recomputed here bit-for-bit.</summary>
    internal static RgbImage SyntheticSource(string kind, int w, int h)
    {
        var px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    byte v;
                    if (kind == "noise")
                    {
                        uint s = unchecked((uint)x * 374761393u + (uint)y * 668265263u + (uint)c * 2246822519u);
                        s = unchecked((s ^ (s >> 13)) * 1274126177u);
                        v = (byte)((s ^ (s >> 16)) & 255);
                    }
                    else
                    {
                        v = (byte)(c == 0 ? x * 255 / Math.Max(w - 1, 1) : c == 1 ? y * 255 / Math.Max(h - 1, 1) : (x / 4 + y / 4) % 2 * 255);
                    }
                    px[(y * w + x) * 3 + c] = v;
                }
        return new RgbImage(w, h, px);
    }

    public static TheoryData<string> Cases() => ImageFixtures.CaseNames("resize", "case");

    [Theory]
    [MemberData(nameof(Cases))]
    public void ResizeIsBitIdenticalToPillow(string caseName)
    {
        var e = ImageFixtures.Entry("resize", "case", caseName);
        RgbImage source = SyntheticSource(e.GetProperty("kind").GetString()!, e.GetProperty("srcWidth").GetInt32(), e.GetProperty("srcHeight").GetInt32());
        int ow = e.GetProperty("outWidth").GetInt32(), oh = e.GetProperty("outHeight").GetInt32();
        var filter = e.GetProperty("filter").GetString() == "bicubic" ? PillowFilter.Bicubic : PillowFilter.Bilinear;
        byte[] actual = e.GetProperty("mode").GetString() == "rgb"
            ? PillowResize.Resize(source, ow, oh, filter).Pixels
            : PillowResize.Resize(source.ToGrey(), ow, oh, filter).Pixels;
        // Exact: Pillow's 8-bit path is integer arithmetic on weights computed in double; any difference is a bug.
        Assert.Equal(0, ImageFixtures.CountDifferences(ImageFixtures.Bytes("resize", caseName + ".out"), actual));
    }

    [Theory]
    [InlineData("noise97x61", "noise", 97, 61, 40)]
    [InlineData("pattern23x31", "pattern", 23, 31, 33)]
    public void ClipTensorMatchesTorchvision(string name, string kind, int w, int h, int size)
    {
        float[] actual = ClipPreprocess.ToTensorData(SyntheticSource(kind, w, h), size);
        float[] expected = MemoryMarshal.Cast<byte, float>(ImageFixtures.Bytes("resize", $"clip_{name}_{size}.f32")).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
            maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
        // Same uint8 pixels and the same float32 ops (/255, -mean, /std) in the same order: expected exact;
        // 1e-6 allows only for a last-ulp difference (values are within +-2.2, ulp ~2.4e-7).
        Assert.True(maxDiff < 1e-6, $"max |diff| = {maxDiff}");
    }

    [Theory]
    [InlineData("noise97x61", 97, 61, 37)]
    [InlineData("pattern23x31", 23, 31, 50)]
    public void BinaryMaskMatchesTorchvision(string name, int w, int h, int size)
    {
        var mask = new GreyImage(w, h, ImageFixtures.Bytes("resize", $"mask_{name}.grey"));
        float[] actual = MaskPreprocess.ToBinaryMask(mask, size);
        byte[] expected = ImageFixtures.Bytes("resize", $"mask_{name}_{size}.bin");
        Assert.Equal(expected.Length, actual.Length);
        int diff = 0, ones = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += expected[i] != (byte)actual[i] ? 1 : 0;
            ones += expected[i];
        }
        Assert.Equal(0, diff); // exact: 0/1 decisions on bit-exact resized bytes
        Assert.InRange(ones, 1, expected.Length - 1); // the fixture is a real mask, not all 0 or all 1
    }
}
