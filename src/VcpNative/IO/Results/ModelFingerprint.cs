// A short identity of a CLIP + head pair, recorded in threshold.json so a threshold is not used with other weights.
using System.Security.Cryptography;

namespace VcpNative.IO.Results;

/// <summary>
/// SHA-256 over each file's length and its first and last MiB, hex, 16 characters: cheap on an 856 MB CLIP, and
/// different for any two weight files that differ in size, header (tensor names, offsets, metadata) or last tensors.
/// Not a content hash of the middle of a large file.
/// </summary>
public static class ModelFingerprint
{
    private const int Edge = 1 << 20;

    /// <summary>The fingerprint of the pair (<paramref name="clipPath"/>, <paramref name="headPath"/>).</summary>
    /// <param name="clipPath">CLIP weights.</param>
    /// <param name="headPath">Head weights.</param>
    public static string Of(string clipPath, string headPath)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in new[] { clipPath, headPath })
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            sha.AppendData(BitConverter.GetBytes(file.Length));
            var buffer = new byte[(int)Math.Min(Edge, file.Length)];
            file.ReadExactly(buffer);
            sha.AppendData(buffer);
            file.Seek(-buffer.Length, SeekOrigin.End);
            file.ReadExactly(buffer);
            sha.AppendData(buffer);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}
