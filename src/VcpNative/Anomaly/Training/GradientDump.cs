// The first step's gradients as a safetensors file (head key names), for comparing with the authors' PyTorch code.
using System.Globalization;
using VcpNative.WeightsConverter;
using VcpNative.WeightsConverter.Safetensors;

namespace VcpNative.Anomaly.Training;

/// <summary>Writes a trainer's current gradients (F32) with the loss and its parts in the metadata.</summary>
public static class GradientDump
{
    /// <summary>Writes every gradient of <paramref name="trainer"/> to <paramref name="path"/>; metadata format "vcp-native/gradients".</summary>
    public static void Write(string path, IHeadTrainer trainer, TrainingLoss loss)
    {
        var entries = new List<(string, WeightDType, long[], ReadOnlyMemory<byte>)>();
        foreach (var (name, grad) in trainer.Gradients())
        {
            var values = grad.ToArray();
            var bytes = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            entries.Add((name, WeightDType.F32, Array.ConvertAll(grad.Shape.ToArray(), d => (long)d), bytes));
        }
        var meta = new Dictionary<string, string>
        {
            ["loss"] = loss.Total.ToString("R", CultureInfo.InvariantCulture),
            [loss.FirstName] = loss.First.ToString("R", CultureInfo.InvariantCulture),
            [loss.SecondName] = loss.Second.ToString("R", CultureInfo.InvariantCulture),
            ["method"] = trainer.Method,
            ["format"] = "vcp-native/gradients",
        };
        SafetensorsWriter.Write(path, entries, meta);
    }
}
