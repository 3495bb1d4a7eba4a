// Our managed SHA-256 (src/VcpNative/IO/Sha256.cs) against FIPS 180-4's examples and the BCL's OpenSSL-backed SHA256.
using System.Security.Cryptography;
using System.Text;
using VcpNative.IO;
using Xunit;

namespace VcpNative.Tests.IO;

public class Sha256Tests
{
    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void FipsExamples(string message, string digest) =>
        Assert.Equal(digest, Convert.ToHexStringLower(Sha256.Hash(Encoding.ASCII.GetBytes(message))));

    [Fact]
    public void EqualsTheBclForEveryLengthAroundTheBlockAndPaddingBordersInAnySplit()
    {
        var random = new Random(5);
        foreach (var length in Enumerable.Range(0, 200).Concat([1000, 4095, 4096, 65_537, (1 << 20) + 3]))
        {
            var data = new byte[length];
            random.NextBytes(data);
            var expected = SHA256.HashData(data);
            Assert.Equal(expected, Sha256.Hash(data));
            // The same bytes appended in random pieces.
            var sha = new Sha256();
            var at = 0;
            while (at < length)
            {
                var piece = Math.Min(length - at, random.Next(0, 150));
                sha.Append(data.AsSpan(at, piece));
                at += piece;
            }
            Assert.Equal(expected, sha.Finish());
        }
    }

    [Fact]
    public void AppendAfterFinishIsRefused()
    {
        var sha = new Sha256();
        sha.Finish();
        Assert.Throws<InvalidOperationException>(() => sha.Append([1]));
    }
}
