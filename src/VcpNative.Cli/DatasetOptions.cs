// The --dataset/--root/--classes options shared by eval and train.
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

    public static Option<string> Root() => new("--root") { Description = "Dataset root folder", Required = true };

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
        _ => throw new ArgumentException($"unknown dataset '{name}'; expected one of {string.Join(", ", Names)}"),
    };
}
