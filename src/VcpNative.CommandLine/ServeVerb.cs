// The `serve` verb as the CLI and the server both name it: its description, and which executable serves for a given CLI build.
namespace VcpNative.Cli;

/// <summary>
/// `serve` lives in its own executable (src/VcpNative.Serve) so the CLI does not link ASP.NET Core: vcp-native-serve-avx2,
/// vcp-native-serve-avx512 (linux-x64) and vcp-native-serve (linux-arm64) ship next to the CLI builds they mirror.
/// </summary>
public static class ServeVerb
{
    /// <summary>The verb.</summary>
    public const string Name = "serve";

    /// <summary>The verb's one-line description in --help.</summary>
    public const string Description = "Serve the model over HTTP: /v1/detect, the Open Inference Protocol (/v2), a web page at /, /metrics";

    private const string CliPrefix = "vcp-native";
    private const string ServePrefix = "vcp-native-serve";

    /// <summary>
    /// The serve build that matches the CLI executable <paramref name="cliFileName"/>: vcp-native-avx2 -> vcp-native-serve-avx2,
    /// vcp-native-avx512 -> vcp-native-serve-avx512, vcp-native -> vcp-native-serve (a renamed CLI gets vcp-native-serve).
    /// </summary>
    public static string ExecutableFor(string cliFileName) =>
        cliFileName.StartsWith(CliPrefix, StringComparison.Ordinal) && !cliFileName.StartsWith(ServePrefix, StringComparison.Ordinal)
            ? ServePrefix + cliFileName[CliPrefix.Length..]
            : ServePrefix;
}
