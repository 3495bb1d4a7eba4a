// A short identity of a CLIP + head pair, recorded in threshold.json so a threshold is not used with other weights.

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
        var sha = new Sha256(); // managed SHA-256: no libssl (IO/Sha256.cs)
        foreach (var path in new[] { clipPath, headPath })
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            sha.Append(BitConverter.GetBytes(file.Length));
            var buffer = new byte[(int)Math.Min(Edge, file.Length)];
            file.ReadExactly(buffer);
            sha.Append(buffer);
            file.Seek(-buffer.Length, SeekOrigin.End);
            file.ReadExactly(buffer);
            sha.Append(buffer);
        }
        return sha.FinishHex()[..16];
    }
}
