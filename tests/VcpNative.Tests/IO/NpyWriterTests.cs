// NpyWriter output is byte-identical to numpy.save of the same float32 array (fixture from make_image_fixtures.py).
using VcpNative.IO;
using VcpNative.Tests.IO.Images;
using Xunit;

namespace VcpNative.Tests.IO;

public class NpyWriterTests
{
    [Fact]
    public void MatchesNumpySaveByteForByte()
    {
        // The fixture holds (arange(15).reshape(3,5) - 7.25) / 3 in float32; the same float32 ops give the same bits.
        var values = new float[15];
        for (int i = 0; i < 15; i++)
            values[i] = (i - 7.25f) / 3f;
        var ms = new MemoryStream();
        NpyWriter.Write(ms, values, 3, 5);
        Assert.Equal(ImageFixtures.Bytes("npy", "h3w5.npy"), ms.ToArray());
    }

    [Fact]
    public void ShapeMismatchIsRejected()
        => Assert.Throws<ArgumentException>(() => NpyWriter.Write(new MemoryStream(), new float[6], 4, 2));
}
