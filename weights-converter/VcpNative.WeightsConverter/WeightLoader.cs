// The single entry point: detects a weight file's format from its first bytes and returns canonical tensor names.
namespace VcpNative.WeightsConverter;

public static class WeightLoader
{
    /// <summary>
    /// Loads safetensors, torch.save zip or TorchScript zip. CLIP weights in Hugging Face naming are mapped to
    /// OpenAI names (our canonical ones); anything else keeps its flattened names. Dispose the result to unmap the file.
    /// </summary>
    public static WeightSet Load(string path)
    {
        var set = LoadVerbatim(path);
        return Clip.ClipWeightNames.IsHuggingFaceClip(set) ? Clip.HuggingFaceClipMapping.ToOpenAi(set) : set;
    }

    /// <summary>Loads a file keeping the names exactly as stored (nested dicts joined with '.').</summary>
    public static WeightSet LoadVerbatim(string path) => MappedFile.OpenOwnedBy(path, ReadDetected);

    private static WeightSet ReadDetected(MappedFile file) => DetectFormat(file) switch
    {
        WeightFileFormat.Safetensors => Safetensors.SafetensorsReader.Read(file),
        _ => Pickle.TorchArchiveReader.Read(file),
    };

    /// <summary>Safetensors or a PyTorch zip (torch.save and TorchScript are told apart after opening the zip).</summary>
    public static WeightFileFormat DetectFormat(string path)
    {
        using var file = MappedFile.Open(path);
        return DetectFormat(file);
    }

    private static WeightFileFormat DetectFormat(MappedFile file)
    {
        if (file.Length < 4) throw new ModelFormatException(file.Path, 0, null, $"file of {file.Length} bytes is too short to be a weight file (file truncated?)");
        var head = file.Span(0, (int)Math.Min(file.Length, 9));
        // Local file header, or the end record of an empty zip.
        if (head[0] == 'P' && head[1] == 'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
            return WeightFileFormat.TorchSave;
        // A JSON object right after the 8-byte length; the reader validates the length itself.
        if (head.Length == 9 && head[8] == '{')
            return WeightFileFormat.Safetensors;
        if (head[0] == 0x80)
            throw new ModelFormatException(file.Path, 0, null, "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a current PyTorch or convert it to safetensors");
        throw new ModelFormatException(file.Path, 0, null, $"unrecognised weight format: first bytes {Convert.ToHexString(head)} are neither a zip archive nor a safetensors header");
    }
}
