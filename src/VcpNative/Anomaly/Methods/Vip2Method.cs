// ViP2-CLIP in the method registry: QuickGELU CLIP with bilinear position resize, raw maps, heads from the authors' checkpoint.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Training;
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Models.Vip2;
using VcpNative.Tensors;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Anomaly.Methods;

/// <summary>ViP2-CLIP: ICA prompts with Meta-Nets and the FGP; training starts from a checkpoint (its prompt buffers).</summary>
public sealed class Vip2Method : IAnomalyMethod
{
    /// <inheritdoc/>
    public string Name => "vip2";

    /// <inheritdoc/>
    public string Title => "ViP2-CLIP";

    /// <inheritdoc />
    public string ScoreMeaning => "probability that the image is anomalous (softmax of the image-text alignment at temperature 0.07); higher is more anomalous";

    /// <inheritdoc />
    public double ScoreMaximum => 1.0;

    /// <summary>Keys every ViP2-CLIP checkpoint has (method-spec 3.7: ICA parameters and buffers, FGP).</summary>
    public IReadOnlyList<string> RequiredKeys { get; } =
    [
        "prompt_learner.ctx_pos", "prompt_learner.ctx_neg", "prompt_learner.cls_ctx", "prompt_learner.cls_prompter.bias",
        "prompt_learner.cls_prompter.fc.0.0.weight", "prompt_learner.token_prefix_pos", "prompt_learner.token_middle_pos",
        "prompt_learner.token_suffix_pos", "prompt_learner.token_prefix_neg", "prompt_learner.token_middle_neg",
        "prompt_learner.token_suffix_neg", "prompt_learner.tokenized_prompts_pos", "prompt_learner.tokenized_prompts_neg",
        "Zero_try.q_proj_pre.weight", "Zero_try.k_proj_pre_1.weight", "Zero_try.v_proj_pre_1.weight", "Zero_try.proj_post_t.weight",
    ];

    /// <inheritdoc/>
    public ClassNormalisation Normalisation => ClassNormalisation.None;

    /// <inheritdoc/>
    public bool TrainingNeedsInitialHeads => true;

    /// <inheritdoc/>
    public string TensorPrefix => Vip2Heads.IcaPrefix + ".";

    /// <inheritdoc/>
    public LoadedAnomalyModel Load(string clipPath, string headPath, int imageSize, IBackend? backend) =>
        Wrap(Vip2Model.Load(clipPath, headPath, backend), imageSize);

    /// <inheritdoc/>
    public LoadedAnomalyModel LoadForTraining(string clipPath, string? initPath, int seed, int imageSize, IBackend backend) =>
        Load(clipPath, initPath ?? throw new ArgumentNullException(nameof(initPath), "ViP2-CLIP trains from initial heads"), imageSize, backend);

    /// <inheritdoc/>
    public LoadedAnomalyModel Random(ModelArchitecture arch, int seed, int imageSize, IBackend? backend, LinearWeightFormat weightsFormat)
    {
        var clip = new ClipModel(RandomWeights.Clip(arch, seed, backend, weightsFormat), ClipActivation.QuickGelu, PositionResizeMode.Bilinear);
        return Wrap(clip.BuildOrDispose(c => new Vip2Model(c, new Vip2Heads(RandomHeads(arch, seed, backend), c.Config))), imageSize);
    }

    /// <inheritdoc/>
    public ParameterSet RandomHeads(ModelArchitecture arch, int seed, IBackend? backend) => RandomWeights.Vip2Heads(arch, seed, backend);

    /// <inheritdoc/>
    public IHeadTrainer CreateTrainer(LoadedAnomalyModel model, HeadTrainingSettings settings) =>
        new Vip2Trainer((Vip2Model)model.Model, new Vip2TrainingOptions { ImageSize = settings.ImageSize, Seed = settings.Seed });

    /// <inheritdoc/>
    public VcpFlops FlopCount(LoadedAnomalyModel model, int imageSize)
    {
        var m = (Vip2Model)model.Model;
        return Vip2FlopCount.PerImage(m.Clip.Config, m.Heads.R, m.Heads.MetaHidden, m.Heads.FeatureLayers, imageSize);
    }

    private static LoadedAnomalyModel Wrap(Vip2Model model, int imageSize) =>
        AnomalyMethods.Wrap(model, model.Clip, m => new Vip2Inference(m, imageSize));
}
