// The one list of methods: everything that offers a choice of method (loader, convert, train, bench, --method) reads it.
using VcpNative.Anomaly.Inference;
using VcpNative.Models.Clip;
using VcpNative.WeightsConverter;

namespace VcpNative.Anomaly.Methods;

/// <summary>The registered methods and lookups by name.</summary>
public static class AnomalyMethods
{
    /// <summary>Every method, in the order they are listed to users. A new method is one line here.</summary>
    public static IReadOnlyList<IAnomalyMethod> All { get; } = [new VcpMethod(), new Vip2Method()];

    /// <summary>The method trained and benchmarked when none is named.</summary>
    public static IAnomalyMethod Default => All[0];

    /// <summary>The names of <see cref="All"/>, for option validation.</summary>
    public static string[] Names => [.. All.Select(m => m.Name)];

    /// <summary>The method called <paramref name="name"/> (trimmed, any case); unknown names are a <see cref="ModelFormatException"/> naming <paramref name="source"/>.</summary>
    public static IAnomalyMethod ByName(string name, string source)
    {
        var key = name.Trim().ToLowerInvariant();
        foreach (var m in All)
        {
            if (m.Name == key)
            {
                return m;
            }
        }
        throw new ModelFormatException(source, null, null, $"unknown method '{name}': expected one of {string.Join(", ", Names)}");
    }

    /// <summary>The method of a tensor name, or null when no method recognises it.</summary>
    public static IAnomalyMethod? Recognising(string tensorName)
    {
        foreach (var m in All)
        {
            if (tensorName.StartsWith(m.TensorPrefix, StringComparison.Ordinal))
            {
                return m;
            }
        }
        return null;
    }

    /// <summary>Builds the inference of a freshly loaded <paramref name="model"/>; disposes the model if that fails.</summary>
    internal static LoadedAnomalyModel Wrap<TModel>(TModel model, ClipModel clip, Func<TModel, IAnomalyInference> inference)
        where TModel : IDisposable
    {
        try
        {
            var built = inference(model);
            return new LoadedAnomalyModel(built.Method, built, model) { Clip = clip };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
