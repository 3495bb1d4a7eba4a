// Every crash and hang the mutation pass and the afl++ campaigns found (issue #17), kept as a fixture: each must now
// be refused with the reader's typed exception and a one-line message naming what is wrong.
using System.Diagnostics;
using VcpNative.IO.Images;
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.Fuzz;

public class FuzzRegressionTests
{
    [Theory]
    [InlineData("jpeg_dht_overfull_length1.jpg", "over-fill the code space at length 1")] // threw IndexOutOfRangeException
    // A CCITT G4 TIFF with SamplesPerPixel claiming 704 M values: LibTiff.NET read them for 33 s and allocated 2.7 GB.
    [InlineData("tiff_g4_spp_count_33s_hang.tif", "tag 277's 704184321 values inside the file (274 bytes)")]
    [InlineData("tiff_spp_count_11s_hang.tif", "tag 277's 167772161 values inside the file")] // 11 s, 650 MB
    [InlineData("tiff_tile_bytecount_2gb.tif", "tag 325's strip/tile offsets and byte counts within the file (1228 bytes), found 1929379970")] // 1.9 GB allocated
    [InlineData("tiff_stripbytecounts_long8.tif", "tag 279 (strip/tile offsets or byte counts) of type SHORT or LONG, found type 16")] // 37 MB for a 3 KB file
    [InlineData("tiff_tiles_larger_than_image_25mb.tif", "tiles no larger than the 37x23 image (rounded up to 16), found 65307x784")] // afl tiff campaign: 25 MB
    // afl tiff campaign: LibTiff sized its tile/strip arrays from the image, 650 MB and 1.5-4 s for a 1 KB file.
    [InlineData("tiff_8m_tiles_listed_6_650mb.tif", "tile offsets for all 8388608 tiles of a 32767x65528 image, found 6 listed")]
    [InlineData("tiff_1m_strips_listed_1.tif", "strip offsets for all 1332545 strips of a 87x15990529 image, found 1 listed")]
    [InlineData("tiff_ifd_at_offset4_hang.tif", "a first directory offset inside the file (60 bytes), found 4")] // afl png campaign: hang
    // Second afl tiff campaign (38 min, session 6): LibTiff sized row and codec buffers from a width it read from a
    // second ImageWidth entry (our check read the first) or from a width of 16.7 million: 0.5-2 GB and 5-20 s each.
    [InlineData("tiff_width_twice_g4_2gb.tif", "expected tag 256 once in the directory, found a second entry")]
    [InlineData("tiff_width_twice_ojpeg_2gb.tif", "expected tag 256 once in the directory, found a second entry")]
    [InlineData("tiff_width_16m_524mb.tif", "expected an image at most 1048576 pixels wide and high, found 16776991x32")]
    // Fourth afl tiff campaign (22 min, session 6): LibTiff "repaired" an uncompressed strip's byte count from the
    // declared size (250 MB for a 364-byte file) and sized per-sample arrays from 18761 samples per pixel (600 MB).
    [InlineData("tiff_uncompressed_beyond_file_250mb.tif", "expected uncompressed samples within the file (364 bytes), found 58625x1292, 3 samples of 1 bits")]
    [InlineData("tiff_spp_18761_600mb.tif", "expected at most 16 samples per pixel, found 18761")]
    public void ImageEscapesStayFixed(string file, string message)
    {
        var path = Fixtures.Path("images", "regressions", file);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(path));
        Assert.Contains(message, e.Message);
        Assert.Contains(file, e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.True(clock.Elapsed < FuzzCorpus.HangInCi, $"took {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Theory]
    // An empty view (size [0, 3]) at offset 130 of a 0-element storage: RawBytes threw ArgumentOutOfRangeException.
    [InlineData("pickle_empty_view_offset_past_storage.pkl", "tensor view (offset 130, size [0, 3], stride [3, 1]) needs 130 elements, storage '1' has 0")]
    public void PickleEscapesStayFixed(string file, string message)
    {
        var target = FuzzTargets.FuzzTargetList.Find("pickle");
        var outcome = target.Run(File.ReadAllBytes(Fixtures.Path("weights", "regressions", file)));
        Assert.Equal(FuzzTargets.FuzzVerdict.Refused, outcome.Verdict);
        Assert.Contains(message, outcome.Exception!.Message);
    }

    [Theory]
    // JsonDocument.GetString threw InvalidOperationException on a name with invalid UTF-8.
    [InlineData("safetensors_header_invalid_utf8.safetensors", "offset 8: header is not valid UTF-8 JSON")]
    public void WeightFileEscapesStayFixed(string file, string message)
    {
        var path = Fixtures.Path("weights", "regressions", file);
        var e = Assert.Throws<ModelFormatException>(() => WeightLoader.Load(path));
        Assert.Contains(message, e.Message);
        Assert.Contains(file, e.Message);
    }

    [Theory]
    // JsonElement threw InvalidOperationException on the wrong kind, and GetInt32 FormatException on 1.5.
    [InlineData("{\"test\": {\"bottle\": 5}}", "test.bottle: expected an array of samples, found Number")]
    [InlineData("{\"test\": {\"bottle\": [5]}}", "test.bottle[0]: expected a sample object, found Number")]
    [InlineData("{\"test\": {\"bottle\": [{\"img_path\": \"good.png\", \"anomaly\": 1.5}]}}", "test.bottle[0]: missing integer \"anomaly\"")]
    public void MetaJsonOfTheWrongShapeIsRefused(string json, string message)
    {
        var outcome = FuzzTargets.FuzzTargetList.Find("metajson").Run(System.Text.Encoding.UTF8.GetBytes(json));
        Assert.Equal(FuzzTargets.FuzzVerdict.Refused, outcome.Verdict);
        Assert.Contains(message, outcome.Exception!.Message);
    }
}
