// The --dataset/--data/--classes options shared by eval, compare and train, and the whole set of a dataset run.
using System.CommandLine;
using VcpNative.Anomaly.Datasets;

namespace VcpNative.Cli;

public static class DatasetOptions
{
    public static readonly string[] Names = ["mvtec", "visa", "mvisa", "btad", "mpdd", "meta", "folder"];

    public static Option<string> Dataset() => new Option<string>("--dataset")
    {
        Description = "Dataset layout: " + string.Join('|', Names),
        Required = true,
    }.AcceptOnlyFromAmong(Names);

    public static Option<string> Root() => new("--data") { Description = "Dataset root folder", Required = true };

    public static Option<string?> Classes() => new("--classes") { Description = "Comma-separated class names (default: all)" };

    public static DatasetLayout Layout(string name) => name switch
    {
        "mvtec" => DatasetLayout.MvtecAd,
        "visa" => DatasetLayout.Visa,
        "mvisa" => DatasetLayout.Mvisa,
        "btad" => DatasetLayout.Btad,
        "mpdd" => DatasetLayout.Mpdd,
        "meta" => DatasetLayout.MetaJson,
        "folder" => DatasetLayout.Folder,
        _ => throw new UsageException($"unknown dataset '{name}'; expected one of {string.Join(", ", Names)}"),
    };
}

/// <summary>The options of a verb that runs over a dataset's test split (eval, compare), read into <see cref="DatasetRunOptions"/>.</summary>
public sealed class DatasetRunOptionSet(string clipDescription, string outputDescription)
{
    /// <summary>--clip, with the verb's description.</summary>
    public Option<string> Clip { get; } = new("--clip") { Description = clipDescription, Required = true };

    /// <summary>--dataset (layout).</summary>
    public Option<string> Dataset { get; } = DatasetOptions.Dataset();

    /// <summary>--data (the same name as train's).</summary>
    public Option<string> Root { get; } = DatasetOptions.Root();

    /// <summary>--classes.</summary>
    public Option<string?> Classes { get; } = DatasetOptions.Classes();

    /// <summary>--image-size.</summary>
    public Option<int> ImageSize { get; } = new("--image-size") { Description = "Square input size", DefaultValueFactory = _ => 518 };

    /// <summary>--batch-size.</summary>
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };

    /// <summary>--output / -o, with the verb's description.</summary>
    public Option<string> Output { get; } = new("--output", "-o") { Description = outputDescription, Required = true };

    /// <summary>--no-report: skip report.html (eval and compare write it by default).</summary>
    public Option<bool> NoReport { get; } = new("--no-report") { Description = "Do not write report.html (curves, histograms, worst-scored images; thumbnails in report_files/)" };

    /// <summary>The values given, as the library's common options.</summary>
    public DatasetRunOptions Read(ParseResult parse) => new()
    {
        Clip = parse.GetValue(Clip)!,
        Layout = DatasetOptions.Layout(parse.GetValue(Dataset)!),
        Root = parse.GetValue(Root)!,
        Classes = parse.GetValue(Classes),
        ImageSize = parse.GetValue(ImageSize),
        BatchSize = parse.GetValue(BatchSize),
        Output = parse.GetValue(Output)!,
    };
}
