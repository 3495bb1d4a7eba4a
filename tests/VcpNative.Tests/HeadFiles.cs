// Writes a fixture head file again as safetensors, with chosen metadata and optionally one tensor changed.
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Tests;

internal static class HeadFiles
{
    /// <summary>
    /// <paramref name="source"/>'s tensors as float32 safetensors at <paramref name="destination"/> with
    /// <paramref name="metadata"/>; <paramref name="change"/> may replace a tensor's shape and values (by name).
    /// </summary>
    public static void Rewrite(string source, string destination, Dictionary<string, string> metadata,
        Func<string, long[], float[], (long[] Shape, float[] Values)>? change = null)
    {
        using var heads = WeightLoader.LoadVerbatim(source);
        var entries = new List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>();
        foreach (var t in heads.Tensors)
        {
            var (shape, values) = change is null ? (t.Shape, t.ToFloat32()) : change(t.Name, t.Shape, t.ToFloat32());
            var bytes = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            entries.Add((t.Name, WeightDType.F32, shape, bytes));
        }
        SafetensorsWriter.Write(destination, entries, metadata);
    }
}
