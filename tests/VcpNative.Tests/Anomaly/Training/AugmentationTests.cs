// The training augmentation: geometry keeps image and mask aligned, masks stay binary, runs are reproducible.
using VcpNative.Anomaly.Training;
using VcpNative.IO.Images;
using Xunit;

namespace VcpNative.Tests.Anomaly.Training;

public class AugmentationTests
{
    private static (RgbImage, GreyImage) Sample(int w, int h)
    {
        var image = new RgbImage(w, h);
        new System.Random(1).NextBytes(image.Pixels);
        var mask = new GreyImage(w, h);
        for (var y = 5; y < 12; y++)
        {
            for (var x = 3; x < 9; x++)
            {
                mask.Pixels[y * w + x] = 255;
                image.Pixels[(y * w + x) * 3] = 255;
            }
        }
        return (image, mask);
    }

    [Fact]
    public void FourQuarterTurnsAreTheIdentityAndOneTurnMovesImageAndMaskTogether()
    {
        var (image, mask) = Sample(17, 23);
        var back = Augmentation.Rot90(Augmentation.Rot90(Augmentation.Rot90(Augmentation.Rot90(image, 1), 1), 1), 1);
        Assert.Equal(image.Pixels, back.Pixels);
        var turnedImage = Augmentation.Rot90(image, 1);
        var turnedMask = Augmentation.Rot90(mask, 1);
        Assert.Equal((23, 17), (turnedImage.Width, turnedImage.Height));
        for (var i = 0; i < turnedMask.Pixels.Length; i++)
        {
            if (turnedMask.Pixels[i] == 255)
            {
                Assert.Equal(255, turnedImage.Pixels[3 * i]);
            }
        }
    }

    [Fact]
    public void EveryAugmentationKeepsShapesAndBinaryMasksAndIsReproducible()
    {
        var (image, mask) = Sample(40, 40);
        for (var seed = 0; seed < 40; seed++)
        {
            var (a, am) = Augmentation.Apply(image, mask, new AugmentationOptions(), new System.Random(seed));
            var (b, bm) = Augmentation.Apply(image, mask, new AugmentationOptions(), new System.Random(seed));
            Assert.Equal(a.Pixels, b.Pixels);
            Assert.Equal(am.Pixels, bm.Pixels);
            Assert.Equal(a.Width * a.Height, am.Width * am.Height);
            Assert.All(am.Pixels, p => Assert.True(p is 0 or 255));
            Assert.Contains((byte)255, am.Pixels);
        }
        var (same, sameMask) = Augmentation.Apply(image, mask, AugmentationOptions.None, new System.Random(3));
        Assert.Equal(image.Pixels, same.Pixels);
        Assert.Equal(mask.Pixels, sameMask.Pixels);
    }

    [Fact]
    public void MosaicTilesFourImagesAndTheirMasks()
    {
        var tiles = Enumerable.Range(0, 4).Select(_ => Sample(30, 30)).ToList();
        var (image, mask) = Augmentation.Mosaic(tiles, 60);
        Assert.Equal((60, 60), (image.Width, image.Height));
        // each quadrant keeps its defect
        foreach (var (ox, oy) in new[] { (0, 0), (30, 0), (0, 30), (30, 30) })
        {
            Assert.Equal(255, mask.Pixels[(oy + 8) * 60 + ox + 5]);
        }
    }
}
