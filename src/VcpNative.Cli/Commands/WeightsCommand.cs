// `vcp-native weights fetch`: download OpenAI's CLIP checkpoint with a progress bar and sha256 verification.
using System.CommandLine;
using Spectre.Console;
using VcpNative.IO.Download;

namespace VcpNative.Cli.Commands;

public static class WeightsCommand
{
    public static Command Create()
    {
        var command = new Command("weights", "Obtain model weights");
        var url = new Option<string>("--url") { Description = "Where to download from", DefaultValueFactory = _ => WeightDownloader.ClipVitL14At336Url };
        var sha = new Option<string?>("--sha256") { Description = "Expected sha256 (default: the 64-hex-digit segment of the URL, as OpenAI publishes it)" };
        var output = new Option<string>("--output", "-o") { Description = "Destination file", DefaultValueFactory = _ => "ViT-L-14-336px.pt" };
        var fetch = new Command("fetch", "Download OpenAI's ViT-L/14@336px (resumable; verified; atomic)") { url, sha, output };
        fetch.SetAction(async (parse, cancel) =>
        {
            var u = parse.GetValue(url)!;
            var dest = parse.GetValue(output)!;
            var expected = parse.GetValue(sha) ?? WeightDownloader.Sha256FromUrl(u);
            var o = parse.InvocationConfiguration.Output;
            if (expected is null)
            {
                parse.InvocationConfiguration.Error.WriteLine("vcp-native: warning: no sha256 given and none in the URL; the download is not verified");
            }
            var downloader = new WeightDownloader();
            if (!Console.IsOutputRedirected && ReferenceEquals(o, Console.Out))
            {
                await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask(Path.GetFileName(dest));
                        var progress = new Progress<(long Done, long Total)>(p =>
                        {
                            task.MaxValue = p.Total > 0 ? p.Total : Math.Max(task.MaxValue, p.Done + 1);
                            task.Value = p.Done;
                        });
                        await downloader.DownloadAsync(u, dest, expected, progress, cancel);
                        task.Value = task.MaxValue;
                    });
            }
            else
            {
                await downloader.DownloadAsync(u, dest, expected, null, cancel);
            }
            o.WriteLine($"wrote {dest} ({new FileInfo(dest).Length} bytes{(expected is null ? "" : ", sha256 verified")})");
            return ExitCodes.Ok;
        });
        command.Add(fetch);
        return command;
    }
}
