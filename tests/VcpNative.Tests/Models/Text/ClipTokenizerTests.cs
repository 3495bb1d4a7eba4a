// ClipTokenizer against the method spec's verified ids and vectors from tools/golden/make_tokenizer_fixtures.py.
using System.Text.Json;
using VcpNative.Models.Text;
using Xunit;

namespace VcpNative.Tests.Models.Text;

public class ClipTokenizerTests
{
    private static readonly ClipTokenizer Vcp = new(withClassToken: true);
    private static readonly ClipTokenizer Plain = new(withClassToken: false);

    private static int[] Padded(params int[] ids)
    {
        var result = new int[77];
        ids.CopyTo(result, 0);
        return result;
    }

    [Fact]
    public void SpecVectors()
    {
        // method-spec §1.2, verified there against the reference implementation.
        Assert.Equal(Padded(49406, 320, 1125, 539, 320, 886, 49408, 49407), Vcp.Tokenize("a photo of a good <|class|>"));
        Assert.Equal(Padded(49406, 320, 1125, 539, 320, 13568, 49408, 49407), Vcp.Tokenize("a photo of a damaged <|class|>"));
        Assert.Equal(Padded(49406, 343, 343, 343, 343, 343, 343, 343, 886, 343, 343, 343, 49407), Vcp.Tokenize("X X X X X X X good X X X"));
        Assert.Equal(Padded(49406, 343, 343, 343, 343, 343, 343, 343, 13568, 343, 343, 343, 49407), Vcp.Tokenize("X X X X X X X damaged X X X"));
    }

    public static TheoryData<int> VectorIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < LoadVectors().Length; i++)
            data.Add(i);
        return data;
    }

    private static JsonElement[] LoadVectors()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "text", "clip_tokenizer_vectors.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return [.. doc.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    [Theory]
    [MemberData(nameof(VectorIndices))]
    public void MatchesPythonReference(int index)
    {
        JsonElement v = LoadVectors()[index];
        string text = v.GetProperty("text").GetString()!;
        ClipTokenizer tokenizer = v.GetProperty("withClassToken").GetBoolean() ? Vcp : Plain;
        int[] expected = [.. v.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
        int[] actual = tokenizer.Tokenize(text, contextLength: Math.Max(77, expected.Length));
        Assert.Equal(expected, actual[..expected.Length]);
        Assert.All(actual[expected.Length..], id => Assert.Equal(0, id));
    }

    [Fact]
    public void TooLongThrowsOrTruncates()
    {
        string text = string.Concat(Enumerable.Repeat("a ", 80));
        Assert.Throws<ArgumentException>(() => Vcp.Tokenize(text));
        int[] truncated = Vcp.Tokenize(text, truncate: true);
        Assert.Equal(77, truncated.Length);
        Assert.Equal(49406, truncated[0]);
        Assert.Equal(49407, truncated[76]);
        Assert.All(truncated[1..76], id => Assert.Equal(320, id)); // "a</w>" = 320, per the spec vectors
        Assert.Equal(77, Vcp.Tokenize(string.Concat(Enumerable.Repeat("a ", 75))).Count(id => id != 0)); // exactly fits
    }

    [Fact]
    public void ClassTokenOnlyInVcpVocabulary()
    {
        Assert.Equal(49409, Vcp.VocabularySize);
        Assert.Equal(49408, Plain.VocabularySize);
        Assert.DoesNotContain(49408, Plain.Tokenize("a <|class|>"));
    }

    [Fact]
    public void DecodeInvertsEncode()
    {
        Assert.Equal("a photo of a scratched <|class|>", Vcp.Decode(Vcp.Encode("A photo of a scratched <|class|>")).Trim());
        Assert.Equal("café 日本 ", Vcp.Decode(Vcp.Encode("café 日本")));
    }
}
