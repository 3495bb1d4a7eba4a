// `vcp-native serve`: the model loaded once behind an HTTP server (plain API, Open Inference Protocol, web page, metrics).
using System.CommandLine;
using System.Net;
using VcpNative.Cli;

using VcpNative.IO.Results;

namespace VcpNative.Serve;

/// <summary>Parses the server's options, opens the detector in the background and runs until SIGTERM (docs/serve.md).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights: clip.safetensors from 'convert clip', or OpenAI's ViT-L-14-336px.pt", Required = true };
        var head = MethodOptions.Head();
        var method = MethodOptions.Method();
        var size = new Option<int>("--image-size") { Description = "Square input size in pixels (multiple of the patch size)", DefaultValueFactory = _ => DetectorOptions.DefaultImageSize };
        var threshold = new Option<string?>("--threshold") { Description = "Image-score threshold (a number, or threshold.json from calibrate): adds the anomalous verdict" };
        var host = new Option<string>("--host") { Description = "Address to bind (an IP, or localhost); beyond loopback, use --api-key-file", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port)", DefaultValueFactory = _ => 8080 };
        var maxBatch = new Option<int>("--max-batch") { Description = "Most images computed together", DefaultValueFactory = _ => 8 };
        var maxDelay = new Option<int>("--max-delay-ms") { Description = "How long a batch waits to fill", DefaultValueFactory = _ => 5 };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait; beyond it 503 with Retry-After", DefaultValueFactory = _ => 64 };
        var timeout = new Option<int>("--timeout-ms") { Description = "Per-request deadline (504 past it)", DefaultValueFactory = _ => 30000 };
        var maxRequest = new Option<int>("--max-request-mb") { Description = "Largest request body in MiB (413 beyond it)", DefaultValueFactory = _ => 32 };
        var apiKeyFile = new Option<string?>("--api-key-file") { Description = "File holding the API key: every route but the health checks then needs 'Authorization: Bearer <key>'" };
        var modelName = new Option<string>("--model-name") { Description = "Model name in /v2/models/{name}", DefaultValueFactory = _ => "vcp-native" };
        var drain = new Option<int>("--drain-s") { Description = "On SIGTERM, seconds to finish queued and running requests", DefaultValueFactory = _ => 30 };
        var compute = new Option<string>("--compute")
        {
            Description = "Arithmetic of the image tower's block linear layers: fp32, or int8 (CPU only; faster, approximate: docs/int8-compute.md)",
            DefaultValueFactory = _ => "fp32",
        }.AcceptOnlyFromAmong("fp32", "int8");
        var command = new Command(ServeVerb.Name, ServeVerb.Description)
        {
            clip, head, method, size, threshold, host, port, maxBatch, maxDelay, queue, timeout, maxRequest, apiKeyFile, modelName, drain, compute,
        };
        command.SetAction(parse =>
        {
            var settings = new ServeSettings
            {
                Host = parse.GetValue(host)!, Port = parse.GetValue(port), MaxBatch = parse.GetValue(maxBatch), MaxDelayMs = parse.GetValue(maxDelay),
                Queue = parse.GetValue(queue), TimeoutMs = parse.GetValue(timeout), MaxRequestMb = parse.GetValue(maxRequest),
                ApiKey = parse.GetValue(apiKeyFile) is string f
                    ? File.Exists(f) ? File.ReadAllText(f).Trim() : throw new UsageException($"--api-key-file: {f}: no such file")
                    : null,
                ModelName = parse.GetValue(modelName)!, DrainSeconds = parse.GetValue(drain),
            };
            var detector = new DetectorOptions
            {
                Device = Enum.Parse<DetectorDevice>(parse.GetValue(GlobalOptions.Device) ?? "cpu", ignoreCase: true),
                Precision = parse.GetValue(GlobalOptions.Precision) == "bf16" ? DetectorPrecision.Bf16 : DetectorPrecision.Fp32,
                Threads = parse.GetValue(GlobalOptions.Threads),
                ImageSize = parse.GetValue(size),
                Method = parse.GetValue(method),
                Threshold = parse.GetValue(threshold) is string t ? ThresholdFile.Parse(t) : null,
                Compute = parse.GetValue(compute) == "int8" ? Tensors.LinearCompute.Int8 : Tensors.LinearCompute.Fp32,
            };
            if (detector.Compute == Tensors.LinearCompute.Int8 && detector.Device != DetectorDevice.Cpu)
            {
                throw new UsageException($"--compute int8 runs on the CPU: use it with --device cpu (not {detector.Device.ToString().ToLowerInvariant()})");
            }
            return Run(settings, parse.GetValue(clip)!, parse.GetValue(head)!, detector, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    /// <summary>Runs the server until SIGTERM or Ctrl-C; 0 after a clean drain, 1 when the model failed to load.</summary>
    public static int Run(ServeSettings settings, string clip, string head, DetectorOptions options, TextWriter log)
    {
        if (settings.ApiKey is null && !IsLoopback(settings.Host))
        {
            log.WriteLine($"vcp-native: warning: serving on {settings.Host} beyond loopback without --api-key-file: anyone who can reach the port can use the model");
        }
        var host = ServeHost.StartAsync(settings, () => AnomalyDetector.Open(clip, head, options), head, log).GetAwaiter().GetResult();
        log.WriteLine($"serve: listening on {host.Address} (model '{settings.ModelName}' loading)");
        var code = host.WaitForShutdownAsync().GetAwaiter().GetResult();
        host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        log.WriteLine("serve: stopped");
        return code;
    }

    private static bool IsLoopback(string host) => host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
