// BMP encoder: 24-bit bottom-up BI_RGB, the layout cv2.imwrite produces for the authors' re-saved datasets.
using System.Buffers.Binary;

namespace VcpNative.IO.Images;

/// <summary>Writes uncompressed 24-bit BMP files.</summary>
public static class BmpEncoder
{
    private const int HeaderBytes = 14 + 40;

    /// <summary>Writes <paramref name="image"/> as a BMP file at <paramref name="path"/>.</summary>
    public static void Write(string path, PixelImage image) => File.WriteAllBytes(path, Encode(image));

    /// <summary>Grey images are written as 24-bit with R = G = B, so every reader sees the same values.</summary>
    public static byte[] Encode(PixelImage image)
    {
        RgbImage rgb = image.ToRgb();
        int stride = (rgb.Width * 3 + 3) & ~3;
        long imageBytes = (long)stride * rgb.Height;
        if (HeaderBytes + imageBytes > int.MaxValue)
            throw new ArgumentException($"image {rgb.Width}x{rgb.Height} is too large for a BMP file", nameof(image));
        var file = new byte[HeaderBytes + imageBytes];
        Span<byte> f = file;
        f[0] = (byte)'B';
        f[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(f[2..], file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(f[10..], HeaderBytes);
        BinaryPrimitives.WriteInt32LittleEndian(f[14..], 40);
        BinaryPrimitives.WriteInt32LittleEndian(f[18..], rgb.Width);
        BinaryPrimitives.WriteInt32LittleEndian(f[22..], rgb.Height); // positive = bottom-up rows
        BinaryPrimitives.WriteInt16LittleEndian(f[26..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(f[28..], 24);
        BinaryPrimitives.WriteInt32LittleEndian(f[34..], (int)imageBytes);
        BinaryPrimitives.WriteInt32LittleEndian(f[38..], 2835); // 72 dpi, as PIL and cv2 write
        BinaryPrimitives.WriteInt32LittleEndian(f[42..], 2835);
        ReadOnlySpan<byte> src = rgb.Pixels;
        for (int y = 0; y < rgb.Height; y++)
        {
            Span<byte> dst = f.Slice(HeaderBytes + (rgb.Height - 1 - y) * stride, rgb.Width * 3);
            ReadOnlySpan<byte> row = src.Slice(y * rgb.Width * 3, rgb.Width * 3);
            for (int x = 0; x < rgb.Width; x++)
            {
                dst[3 * x] = row[3 * x + 2];
                dst[3 * x + 1] = row[3 * x + 1];
                dst[3 * x + 2] = row[3 * x];
            }
        }
        return file;
    }
}
