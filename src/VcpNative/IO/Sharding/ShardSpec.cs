// Which slice of a job this process runs: `--shard i/N`, or the index a cluster engine gives an array task.
using System.Globalization;

namespace VcpNative.IO.Sharding;

/// <summary>Shard <see cref="Index"/> of <see cref="Count"/> (0 &lt;= Index &lt; Count); an input belongs to the shard its key hashes to.</summary>
/// <param name="Index">This shard, from 0.</param>
/// <param name="Count">Number of shards, at least 1.</param>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>
    /// <c>i/N</c>, or <c>auto</c>: Slurm's <c>SLURM_ARRAY_TASK_ID</c> (less <c>SLURM_ARRAY_TASK_MIN</c>) of
    /// <c>SLURM_ARRAY_TASK_COUNT</c>, or of <c>VCP_SHARD_COUNT</c> when set (then the array index is the shard index, so a
    /// resubmitted single index keeps its shard); else Kubernetes' <c>JOB_COMPLETION_INDEX</c> of <c>VCP_SHARD_COUNT</c>.
    /// </summary>
    /// <param name="text">The option's value.</param>
    /// <param name="environment">Reads an environment variable (null when unset); the caller passes the process's.</param>
    /// <exception cref="FormatException">Not i/N with 0 &lt;= i &lt; N, or auto without the variables.</exception>
    public static ShardSpec Parse(string text, Func<string, string?> environment)
    {
        if (text == "auto")
        {
            if (environment("SLURM_ARRAY_TASK_ID") is string id)
            {
                // A resubmitted index (sbatch --array=2) is a one-task array: VCP_SHARD_COUNT keeps N, and the array index is the shard.
                if (environment("VCP_SHARD_COUNT") is string shards)
                {
                    return Checked(Number(id, "SLURM_ARRAY_TASK_ID"), Number(shards, "VCP_SHARD_COUNT"), "auto (Slurm, VCP_SHARD_COUNT)");
                }
                var count = environment("SLURM_ARRAY_TASK_COUNT")
                    ?? throw new FormatException("auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (submit with sbatch --array)");
                var min = environment("SLURM_ARRAY_TASK_MIN") ?? "0";
                return Checked(Number(id, "SLURM_ARRAY_TASK_ID") - Number(min, "SLURM_ARRAY_TASK_MIN"), Number(count, "SLURM_ARRAY_TASK_COUNT"), "auto (Slurm)");
            }
            if (environment("JOB_COMPLETION_INDEX") is string index)
            {
                var count = environment("VCP_SHARD_COUNT")
                    ?? throw new FormatException("auto: JOB_COMPLETION_INDEX is set but VCP_SHARD_COUNT is not (set it to the Job's completions)");
                return Checked(Number(index, "JOB_COMPLETION_INDEX"), Number(count, "VCP_SHARD_COUNT"), "auto (Kubernetes)");
            }
            throw new FormatException("auto: neither SLURM_ARRAY_TASK_ID (Slurm array job) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set; give i/N");
        }
        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            throw new FormatException($"'{text}' is not i/N or auto");
        }
        return Checked(Number(text[..slash], text), Number(text[(slash + 1)..], text), text);
    }

    /// <summary>True when the input with <paramref name="key"/> (see <see cref="ShardKeys.Key"/>) belongs to this shard.</summary>
    /// <param name="key">The input's path relative to the root it was found under.</param>
    public bool Owns(string key) => ShardKeys.ShardOf(key, Count) == Index;

    /// <summary>i/N.</summary>
    public override string ToString() => $"{Index}/{Count}";

    private static ShardSpec Checked(int index, int count, string what) =>
        count < 1 ? throw new FormatException($"{what}: {count} shards: at least 1")
        : index < 0 || index >= count ? throw new FormatException($"{what}: shard {index} of {count}: the index must be in 0..{count - 1}")
        : new ShardSpec(index, count);

    private static int Number(string text, string what) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"{what}: '{text}' is not a whole number");
}
