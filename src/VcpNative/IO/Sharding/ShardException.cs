// The failure family of sharded runs and their merge: shards of different runs, missing or unfinished shards, lost inputs.
namespace VcpNative.IO.Sharding;

/// <summary>
/// A shard folder or a set of shards that cannot be used: the message is one line naming the folder or file (and line),
/// <see cref="Details"/> lists the inputs concerned when there are several.
/// </summary>
/// <param name="message">What is wrong, one line.</param>
/// <param name="inner">The underlying error, if any.</param>
public sealed class ShardException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>One line per input concerned (missing or duplicated inputs with their shards); empty when none.</summary>
    public IReadOnlyList<string> Details { get; init; } = [];
}
