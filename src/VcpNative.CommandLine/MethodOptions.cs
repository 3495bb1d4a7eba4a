// The --method option of every verb that loads heads: explicit, or detected from the head file.
using System.CommandLine;
using VcpNative.Anomaly.Methods;

namespace VcpNative.Cli;

public static class MethodOptions
{
    public static Option<string?> Method() => new Option<string?>("--method")
    {
        Description = string.Join(" or ", AnomalyMethods.Names) + " (default: detected from the head file's metadata or tensor names)",
    }.AcceptOnlyFromAmong(AnomalyMethods.Names);

    public static Option<string> Head() => new("--head")
    {
        Description = "Heads: VCP-CLIP (vcp.safetensors from 'convert vcp', or the authors' .pth) or ViP2-CLIP (vip2.safetensors / .pth)",
        Required = true,
    };
}
