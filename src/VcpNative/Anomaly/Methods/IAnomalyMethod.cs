// One anomaly segmentation method (VCP-CLIP, ViP2-CLIP) as the loader, convert, train and bench see it.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Training;
using VcpNative.Models;
using VcpNative.Tensors;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Anomaly.Methods;

/// <summary>The learning rates, dropout and seed a method's trainer may use (each method reads those it has).</summary>
/// <param name="ImageSize">Square input size.</param>
/// <param name="LearningRate">Learning rate of heads and prompts.</param>
/// <param name="TemperatureLearningRate">Learning rate of the temperatures.</param>
/// <param name="Dropout">Dropout on the projected prompt tokens.</param>
/// <param name="Seed">Seed of dropout and initialisation.</param>
public sealed record HeadTrainingSettings(int ImageSize, double LearningRate, double TemperatureLearningRate, float Dropout, ulong Seed);

/// <summary>
/// Everything the pipelines need to know about a method. Adding a method = one class implementing this plus one line
/// in <see cref="AnomalyMethods.All"/>.
/// </summary>
public interface IAnomalyMethod
{
    /// <summary>Short name: metadata <c>method</c>, <c>--method</c> value, convert sub-verb ("vcp").</summary>
    string Name { get; }

    /// <summary>Human name ("VCP-CLIP").</summary>
    string Title { get; }

    /// <summary>What the raw image score is, in one sentence (written into results.json and documented for users).</summary>
    string ScoreMeaning { get; }

    /// <summary>The closed range the raw image score lies in: [0, <see cref="ScoreMaximum"/>].</summary>
    double ScoreMaximum { get; }

    /// <summary>Keys every head file of this method has; a file without them is not one of its checkpoints.</summary>
    IReadOnlyList<string> RequiredKeys { get; }

    /// <summary>How eval treats the maps and scores within a class (as the method's authors do).</summary>
    ClassNormalisation Normalisation { get; }

    /// <summary>Whether training needs initial heads (ViP2-CLIP: its prompt buffers are stored there).</summary>
    bool TrainingNeedsInitialHeads { get; }

    /// <summary>Prefix of tensor names that only this method's head files have (detection when the metadata says nothing).</summary>
    string TensorPrefix { get; }

    /// <summary>Loads CLIP (built as this method needs it) and the heads from files, for inference at <paramref name="imageSize"/>.</summary>
    LoadedAnomalyModel Load(string clipPath, string headPath, int imageSize, IBackend? backend);

    /// <summary>
    /// Loads CLIP and the initial heads for training: from <paramref name="initPath"/>, or the method's random
    /// initialisation with <paramref name="seed"/> when it is null.
    /// </summary>
    LoadedAnomalyModel LoadForTraining(string clipPath, string? initPath, int seed, int imageSize, IBackend backend);

    /// <summary>A model of <paramref name="arch"/> with seeded random CLIP and heads (benchmarks, tests); no file is read.</summary>
    LoadedAnomalyModel Random(ModelArchitecture arch, int seed, int imageSize, IBackend? backend, LinearWeightFormat weightsFormat);

    /// <summary>Seeded random head weights for <paramref name="arch"/>.</summary>
    ParameterSet RandomHeads(ModelArchitecture arch, int seed, IBackend? backend);

    /// <summary>The trainer of a model this method loaded.</summary>
    IHeadTrainer CreateTrainer(LoadedAnomalyModel model, HeadTrainingSettings settings);

    /// <summary>Analytic FLOPs of one image through a model this method loaded.</summary>
    VcpFlops FlopCount(LoadedAnomalyModel model, int imageSize);
}
