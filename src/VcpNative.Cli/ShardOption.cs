// --shard i/N|auto, shared by infer and eval: parsed here, with this process's environment for `auto`.
using System.CommandLine;
using VcpNative.IO.Sharding;

namespace VcpNative.Cli;

/// <summary>The --shard option and its reading into a <see cref="ShardSpec"/> (a bad value is a usage error naming the option).</summary>
public static class ShardOption
{
    public static Option<string?> Create(string what) => new("--shard")
    {
        Description = $"Run shard i of N (i/N, 0 <= i < N) of the {what}, or 'auto' from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/VCP_SHARD_COUNT; merge the shards' folders with 'vcp-native merge'",
    };

    public static ShardSpec? Read(ParseResult parse, Option<string?> option)
    {
        if (parse.GetValue(option) is not string text)
        {
            return null;
        }
        try
        {
            return ShardSpec.Parse(text, Environment.GetEnvironmentVariable);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--shard: {e.Message}", e);
        }
    }
}
