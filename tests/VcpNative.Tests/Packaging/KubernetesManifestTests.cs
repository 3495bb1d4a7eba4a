// deploy/k8s: no Kubernetes or Docker runs here, so the manifests are parsed and the fields the program relies on checked.
using System.CommandLine;
using System.Text.RegularExpressions;
using VcpNative.Cli;
using VcpNative.IO.Sharding;
using Xunit;

namespace VcpNative.Tests.Packaging;

public class KubernetesManifestTests
{
    private static string Deploy(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VcpNative.sln")) && Directory.Exists(Path.Combine(dir.FullName, "deploy")))
            {
                return Path.Combine([dir.FullName, "deploy", .. parts]);
            }
        }
        throw new InvalidOperationException($"no VcpNative.sln with deploy/ above {AppContext.BaseDirectory}: this test needs the source tree");
    }

    private static Dictionary<string, object> Load(string file) => (Dictionary<string, object>)MiniYaml.Parse(File.ReadAllText(Deploy("k8s", file)));

    private static object At(object node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            node = part.StartsWith('[') ? ((List<object>)node)[int.Parse(part[1..^1])] : ((Dictionary<string, object>)node)[part];
        }
        return node;
    }

    private static string Str(object node, string path) => (string)At(node, path);

    private static List<string> Strings(object node, string path) => [.. ((List<object>)At(node, path)).Cast<string>()];

    /// <summary>$(VAR) as the kubelet expands it from the container's environment.</summary>
    private static string Expand(string arg, IReadOnlyDictionary<string, string> env) => Regex.Replace(arg, @"\$\(([A-Z_]+)\)", m => env[m.Groups[1].Value]);

    private static Dictionary<string, object> Container(Dictionary<string, object> job) => (Dictionary<string, object>)At(job, "spec.template.spec.containers.[0]");

    private static string MountPath(Dictionary<string, object> job)
    {
        var container = Container(job);
        var mount = Str(container, "volumeMounts.[0].name");
        var volume = ((List<object>)At(job, "spec.template.spec.volumes")).Cast<Dictionary<string, object>>().Single(v => (string)v["name"] == mount);
        Assert.False(string.IsNullOrEmpty(Str(volume, "persistentVolumeClaim.claimName")));
        return Str(container, "volumeMounts.[0].mountPath");
    }

    [Fact]
    public void TheInferJobIsAnIndexedJobWhoseIndexAndCountReachShardAuto()
    {
        var job = Load("infer-job.yaml");
        Assert.Equal("batch/v1", Str(job, "apiVersion"));
        Assert.Equal("Job", Str(job, "kind"));
        Assert.Equal("Indexed", Str(job, "spec.completionMode"));
        var completions = int.Parse(Str(job, "spec.completions"));
        Assert.InRange(int.Parse(Str(job, "spec.parallelism")), 1, completions);
        Assert.InRange(int.Parse(Str(job, "spec.backoffLimitPerIndex")), 1, 10);
        Assert.Equal("Never", Str(job, "spec.template.spec.restartPolicy")); // backoffLimitPerIndex requires it

        var container = Container(job);
        var env = ((List<object>)container["env"]).Cast<Dictionary<string, object>>().ToDictionary(e => (string)e["name"]);
        Assert.Equal(completions.ToString(), Str(env["VCP_SHARD_COUNT"], "value"));
        Assert.Equal("metadata.annotations['batch.kubernetes.io/job-completion-index']", Str(env["JOB_COMPLETION_INDEX"], "valueFrom.fieldRef.fieldPath"));
        foreach (var key in new[] { "requests.cpu", "limits.cpu", "limits.nvidia.com/gpu" })
        {
            var parts = key.Split('.', 2);
            Assert.True(((Dictionary<string, object>)At(container, "resources." + parts[0])).ContainsKey(parts[1]), key);
        }

        // The last pod's command line, as the kubelet expands it, parses as a valid infer with --shard auto = N-1 of N.
        var podEnv = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = (completions - 1).ToString(), ["VCP_SHARD_COUNT"] = completions.ToString() };
        var args = Strings(container, "args").Select(a => Expand(a, podEnv)).ToArray();
        var parse = CliApp.Build().Parse(args);
        Assert.Empty(parse.Errors);
        Assert.Null(UnknownOptions.Find(parse));
        Assert.Equal("infer", parse.CommandResult.Command.Name);
        Assert.Equal("auto", args[Array.IndexOf(args, "--shard") + 1]);
        Assert.Equal(new ShardSpec(completions - 1, completions), ShardSpec.Parse("auto", n => podEnv.GetValueOrDefault(n)));
        var mount = MountPath(job) + "/";
        var output = args[Array.IndexOf(args, "-o") + 1];
        Assert.Equal($"{mount}out/shard-{completions - 1}", output);
        Assert.StartsWith(mount, args[^1]); // the inputs
        Assert.StartsWith(mount, args[Array.IndexOf(args, "--clip") + 1]);
    }

    [Fact]
    public void TheMergeJobListsEveryShardOfTheInferJob()
    {
        var infer = Load("infer-job.yaml");
        var merge = Load("merge-job.yaml");
        var completions = int.Parse(Str(infer, "spec.completions"));
        var args = Strings(Container(merge), "args").ToArray();
        var parse = CliApp.Build().Parse(args);
        Assert.Empty(parse.Errors);
        Assert.Equal("merge", parse.CommandResult.Command.Name);
        var shards = args.Where(a => a.Contains("/shard-")).ToList();
        var inferOutput = Strings(Container(infer), "args").Single(a => a.Contains("shard-$(JOB_COMPLETION_INDEX)"));
        Assert.Equal(Enumerable.Range(0, completions).Select(i => inferOutput.Replace("$(JOB_COMPLETION_INDEX)", i.ToString())), shards);
        Assert.Equal(MountPath(infer), MountPath(merge));
        Assert.Equal(Str(infer, "spec.template.spec.volumes.[0].persistentVolumeClaim.claimName"), Str(merge, "spec.template.spec.volumes.[0].persistentVolumeClaim.claimName"));
        Assert.StartsWith(MountPath(merge) + "/", args[Array.IndexOf(args, "-o") + 1]);
    }

    [Theory]
    [InlineData("Dockerfile", "gcr.io/distroless/cc")]
    [InlineData("Dockerfile.cuda", "nvidia/cuda:")]
    public void TheImagesAreMultiStageWithOnlyTheBinaryInTheRuntimeStage(string file, string runtimeBase)
    {
        var lines = File.ReadAllLines(Deploy("k8s", file)).Where(l => !l.StartsWith('#') && l.Trim().Length > 0).ToList();
        var from = lines.Where(l => l.StartsWith("FROM ")).ToList();
        Assert.Equal(2, from.Count);
        Assert.Contains("dotnet/sdk:10.0 AS build", from[0]);
        Assert.StartsWith("FROM " + runtimeBase, from[1]);
        Assert.Contains(lines, l => l.Contains("dotnet publish src/VcpNative.Cli") && l.Contains("-p:PublishAot=true"));
        var runtime = lines.SkipWhile(l => l != from[1]).Skip(1).ToList();
        Assert.Equal(["COPY --from=build /out/vcp-native /vcp-native"], runtime.Where(l => l.StartsWith("COPY") || l.StartsWith("ADD") || l.StartsWith("RUN")));
        Assert.Equal("ENTRYPOINT [\"/vcp-native\"]", runtime[^1]);
    }

    [Fact]
    public void TheYamlReaderCanFail()
    {
        var doc = MiniYaml.Parse("a:\n  b: [\"x\", y]\n  c:\n    - name: n\n      value: \"1\"\n");
        Assert.Equal(["x", "y"], Strings(doc, "a.b"));
        Assert.Equal("1", Str(doc, "a.c.[0].value"));
        Assert.Throws<KeyNotFoundException>(() => At(doc, "a.missing"));
    }
}

/// <summary>
/// The YAML the manifests use and no more: block maps and lists by indentation, flow lists of scalars (possibly over
/// several lines), quoted and plain scalars, comments. Not a YAML parser in general (anchors, multi-line strings, ...).
/// </summary>
internal static class MiniYaml
{
    public static object Parse(string text)
    {
        var lines = new List<(int Indent, string Text)>();
        string? pending = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = StripComment(raw).TrimEnd();
            if (pending is not null)
            {
                pending += " " + line.Trim();
                if (Balanced(pending))
                {
                    Add(lines, pending);
                    pending = null;
                }
                continue;
            }
            if (line.Trim().Length == 0)
            {
                continue;
            }
            if (!Balanced(line))
            {
                pending = line;
                continue;
            }
            Add(lines, line);
        }
        var i = 0;
        return Block(lines, ref i, lines[0].Indent);
    }

    private static void Add(List<(int, string)> lines, string line) => lines.Add((line.Length - line.TrimStart().Length, line.Trim()));

    private static bool Balanced(string line) => line.Count(c => c == '[') == line.Count(c => c == ']');

    private static string StripComment(string line)
    {
        var quoted = '\0';
        for (var k = 0; k < line.Length; k++)
        {
            var c = line[k];
            if (quoted != '\0')
            {
                quoted = c == quoted ? '\0' : quoted;
            }
            else if (c is '"' or '\'')
            {
                quoted = c;
            }
            else if (c == '#' && (k == 0 || line[k - 1] == ' '))
            {
                return line[..k];
            }
        }
        return line;
    }

    private static object Block(List<(int Indent, string Text)> lines, ref int i, int indent)
    {
        if (lines[i].Text.StartsWith("- ", StringComparison.Ordinal))
        {
            var list = new List<object>();
            while (i < lines.Count && lines[i].Indent == indent && lines[i].Text.StartsWith("- ", StringComparison.Ordinal))
            {
                var item = lines[i].Text[2..];
                if (item.Contains(": ") || item.EndsWith(':'))
                {
                    lines[i] = (indent + 2, item); // the item's first key, at the indentation of its other keys
                    list.Add(Block(lines, ref i, indent + 2));
                }
                else
                {
                    list.Add(Scalar(item));
                    i++;
                }
            }
            return list;
        }
        var map = new Dictionary<string, object>(StringComparer.Ordinal);
        while (i < lines.Count && lines[i].Indent == indent && !lines[i].Text.StartsWith("- ", StringComparison.Ordinal))
        {
            var text = lines[i].Text;
            var colon = text.IndexOf(": ", StringComparison.Ordinal) is var c and >= 0 ? c : text.EndsWith(':') ? text.Length - 1 : throw new FormatException($"not 'key: value': {text}");
            var key = text[..colon];
            var rest = text[(colon + 1)..].Trim();
            i++;
            map[key] = rest.Length > 0 ? Scalar(rest) : Block(lines, ref i, lines[i].Indent);
        }
        return map;
    }

    private static object Scalar(string text)
    {
        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            return new List<object>(Regex.Matches(text[1..^1], "\"([^\"]*)\"|'([^']*)'|([^,\\s][^,]*)")
                .Select(m => (object)(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value.Trim())));
        }
        return text.Length >= 2 && (text[0] == '"' && text[^1] == '"' || text[0] == '\'' && text[^1] == '\'') ? text[1..^1] : text;
    }
}
