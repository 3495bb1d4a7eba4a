// Packs the library as a NuGet package, checks what is inside, and runs samples/Detect against it from a local feed.
using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Xml.Linq;
using VcpNative.Cli;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Packaging;

public class PackageSampleTests(ITestOutputHelper log)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The clone this test assembly was built from (tests run from tests/VcpNative.Tests/bin/...).</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VcpNative.sln")) && Directory.Exists(Path.Combine(dir.FullName, "samples", "Detect")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no VcpNative.sln with samples/Detect above {AppContext.BaseDirectory}: this test needs the source tree");
    }

    [Fact]
    public void PackedLibraryRunsTheSampleFromALocalFeedWithInfersScores()
    {
        var root = RepositoryRoot();
        using var temp = new TempDirectory("package");
        // A version no package cache can hold: the sample must restore the package packed here, never a stale one.
        var version = "0.0.1-test" + Guid.NewGuid().ToString("N");
        var feed = Path.Combine(temp.Path, "artifacts", "packages");
        var cache = Path.Combine(temp.Path, "nuget-packages");
        // Built under temp (artifacts layout), so the source tree's bin/obj are left as the solution build made them.
        Dotnet(root, cache, "pack", Path.Combine(root, "src", "VcpNative", "VcpNative.csproj"), "-c", "Release", "-o", feed, $"-p:Version={version}",
            "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={Path.Combine(temp.Path, "build")}", "--disable-build-servers");
        CheckPackage(Path.Combine(feed, $"VcpNative.{version}.nupkg"));

        // samples/ copied next to the feed keeps its nuget.config's ../../artifacts/packages pointing at it.
        CopyFolder(Path.Combine(root, "samples"), Path.Combine(temp.Path, "samples"));
        var project = Path.Combine(temp.Path, "samples", "Detect", "Detect.csproj");
        Dotnet(temp.Path, cache, "build", project, "-c", "Release", $"-p:VcpNativeVersion={version}", $"-p:RestoreAdditionalProjectSources={CachedPackagesFeed()}",
            "--disable-build-servers");
        string[] images = [Fixtures.Path("vcp", "input.png"), Fixtures.Path("images", "decode", "filter1_rgb8.png")];
        var clip = Fixtures.Path("clip", "tiny_clip.pt");
        var head = Fixtures.Path("vcp", "vcp_head.pth");
        var output = Dotnet(temp.Path, cache, ["exec", Path.Combine(temp.Path, "samples", "Detect", "bin", "Release", "net10.0", "Detect.dll"), clip, head, .. images]);

        var sampleScores = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => float.Parse(line.Trim()["score ".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var inferOut = Path.Combine(temp.Path, "infer");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["infer", "--clip", clip, "--head", head, "-o", inferOut, .. images], new StringWriter(), new StringWriter()));
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(inferOut, "results.json")));
        var inferScores = ResultsJson.Records(results).EnumerateArray().Select(r => (float)r.GetProperty("score").GetDouble()).ToArray();
        // Exact: the same library code on the same CPU, both at infer's default image size; "R" round-trips a float.
        Assert.Equal(inferScores, sampleScores);
    }

    /// <summary>One package: only public dependencies, the converter's dll folded in, docs, readme, license, PTX and BPE vocabulary.</summary>
    private static void CheckPackage(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/VcpNative.dll", names);
        Assert.Contains("lib/net10.0/VcpNative.WeightsConverter.dll", names);
        Assert.Contains("lib/net10.0/VcpNative.xml", names);
        Assert.Contains("PACKAGE.md", names);

        XNamespace ns = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd";
        using var nuspecStream = zip.GetEntry("VcpNative.nuspec")!.Open();
        var metadata = XDocument.Load(nuspecStream).Root!.Element(ns + "metadata")!;
        var dependencies = metadata.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).ToList();
        // TIFF through LibTiff.NET and WebP through SkiaSharp (issue #20); the Linux native assets bring
        // libSkiaSharp.so, loaded only when a WebP is decoded.
        Assert.Equal(["BitMiracle.LibTiff.NET", "SkiaSharp", "SkiaSharp.NativeAssets.Linux.NoDependencies", "System.Numerics.Tensors"], dependencies);
        Assert.Equal("MIT", (string?)metadata.Element(ns + "license"));
        Assert.Equal("PACKAGE.md", (string?)metadata.Element(ns + "readme"));
        Assert.False(string.IsNullOrWhiteSpace((string?)metadata.Element(ns + "description")));
        Assert.NotNull(metadata.Element(ns + "repository"));

        using var dll = new MemoryStream();
        using (var entry = zip.GetEntry("lib/net10.0/VcpNative.dll")!.Open())
        {
            entry.CopyTo(dll);
        }
        dll.Position = 0;
        using var pe = new PEReader(dll);
        var reader = pe.GetMetadataReader();
        var resources = reader.ManifestResources.Select(h => reader.GetString(reader.GetManifestResource(h).Name)).ToList();
        Assert.Contains("VcpNative.Models.Text.bpe_simple_vocab_16e6.txt.gz", resources);
        Assert.Contains("ptx/gemm.ptx", resources);
    }

    [Fact]
    public void SampleConsumesTheVersionTheRepositoryBuilds()
    {
        var root = RepositoryRoot();
        var repoVersion = XDocument.Load(Path.Combine(root, "Directory.Build.props")).Descendants("Version").Single().Value;
        var sampleVersion = XDocument.Load(Path.Combine(root, "samples", "Directory.Build.props")).Descendants("VcpNativeVersion").Single().Value;
        Assert.Equal(repoVersion, sampleVersion);
    }

    /// <summary>The machine's package cache as an extra source: the library's dependencies restore without a network when cached.</summary>
    private static string CachedPackagesFeed() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>Runs the dotnet CLI with <paramref name="packageCache"/> as its package folder; returns stdout, fails with both streams on error.</summary>
    private string Dotnet(string workingDirectory, string packageCache, params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost(), args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The test host inherits MSBuild settings from the build that started it; the child picks its own.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }
        start.Environment["NUGET_PACKAGES"] = packageCache;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(StepTimeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {args[0]} ran past {StepTimeout}: {stdout.Result}\n{stderr.Result}");
        }
        process.WaitForExit();
        log.WriteLine($"dotnet {args[0]}: exit {process.ExitCode} in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }

    /// <summary>The dotnet executable running this test (DOTNET_HOST_PATH under dotnet test), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
