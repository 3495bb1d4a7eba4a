// Unit tests of shard specs (i/N, auto from Slurm or Kubernetes variables) and of the stable input-to-shard hash.
using VcpNative.IO.Images;
using VcpNative.IO.Sharding;
using Xunit;

namespace VcpNative.Tests.IO.Sharding;

public class ShardSpecTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    [InlineData("12/100", 12, 100)]
    public void ParsesIndexOverCount(string text, int index, int count) => Assert.Equal(new ShardSpec(index, count), ShardSpec.Parse(text, Env()));

    [Theory]
    [InlineData("0/0", "at least 1")]
    [InlineData("4/4", "0..3")]
    [InlineData("-1/4", "0..3")]
    [InlineData("1", "not i/N")]
    [InlineData("a/4", "not a whole number")]
    [InlineData("1/", "not a whole number")]
    public void RefusesBadSpecs(string text, string why) => Assert.Contains(why, Assert.Throws<FormatException>(() => ShardSpec.Parse(text, Env())).Message);

    [Fact]
    public void AutoReadsSlurmArrayVariablesFromTheArraysFirstIndex()
    {
        Assert.Equal(new ShardSpec(2, 4), ShardSpec.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "4"))));
        // --array=1-4: the shard index counts from the array's first index.
        Assert.Equal(new ShardSpec(0, 4), ShardSpec.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "4"))));
        Assert.Contains("SLURM_ARRAY_TASK_COUNT", Assert.Throws<FormatException>(() => ShardSpec.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "2")))).Message);
        // A resubmitted index: sbatch --array=1 with VCP_SHARD_COUNT=4 is shard 1 of 4, not 0 of 1.
        Assert.Equal(new ShardSpec(1, 4), ShardSpec.Parse("auto",
            Env(("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "1"), ("VCP_SHARD_COUNT", "4"))));
    }

    [Fact]
    public void AutoReadsKubernetesCompletionIndexWithTheCountFromVcpShardCount()
    {
        Assert.Equal(new ShardSpec(5, 8), ShardSpec.Parse("auto", Env(("JOB_COMPLETION_INDEX", "5"), ("VCP_SHARD_COUNT", "8"))));
        Assert.Contains("VCP_SHARD_COUNT", Assert.Throws<FormatException>(() => ShardSpec.Parse("auto", Env(("JOB_COMPLETION_INDEX", "5")))).Message);
        Assert.Contains("0..7", Assert.Throws<FormatException>(() => ShardSpec.Parse("auto", Env(("JOB_COMPLETION_INDEX", "8"), ("VCP_SHARD_COUNT", "8")))).Message);
    }

    [Fact]
    public void AutoWithoutAnEngineSaysWhichVariablesItLookedFor()
    {
        var message = Assert.Throws<FormatException>(() => ShardSpec.Parse("auto", Env())).Message;
        Assert.Contains("SLURM_ARRAY_TASK_ID", message);
        Assert.Contains("JOB_COMPLETION_INDEX", message);
    }

    [Fact]
    public void TheHashIsFixedAcrossVersionsAndMachines()
    {
        // FNV-1a 64 of the UTF-8 key, mod N: these values are the format (a change would re-deal every running job's inputs).
        Assert.Equal(0xaf63dc4c8601ec8cUL % 7, (ulong)ShardKeys.ShardOf("a", 7));
        Assert.Equal(0xcbf29ce484222325UL % 5, (ulong)ShardKeys.ShardOf("", 5));
        Assert.Equal(ShardKeys.ShardOf("bottle/test/crack/000.png", 4), ShardKeys.ShardOf("bottle/test/crack/000.png", 4));
        var counts = new int[4];
        for (var i = 0; i < 4000; i++)
        {
            counts[ShardKeys.ShardOf($"images/{i:D6}.png", 4)]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 800, 1200)); // roughly even: 1000 each expected
    }

    [Fact]
    public void AnInputsKeyIsItsPathUnderTheRootSoMovingTheRootOrAddingFilesChangesNoAssignment()
    {
        using var temp = new TempDirectory("shard");
        string Make(string root, params string[] names)
        {
            foreach (var name in names)
            {
                var path = Path.Combine(root, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, [1]);
            }
            return root;
        }
        var a = Make(Path.Combine(temp.Path, "a"), "x/1.png", "x/2.png", "y/3.png");
        var b = Make(Path.Combine(temp.Path, "elsewhere", "b"), "x/1.png", "x/2.png", "y/3.png", "x/1b.png", "z/9.png");
        var keysA = new List<string>();
        var keysB = new List<string>();
        ImageFiles.Expand([a], [], null, null, keysA);
        ImageFiles.Expand([b], [], null, null, keysB);
        Assert.Equal(["x/1.png", "x/2.png", "y/3.png"], keysA);
        Assert.Subset(keysB.ToHashSet(), keysA.ToHashSet());
        var named = new List<string>();
        ImageFiles.Expand([Path.Combine(a, "y", "3.png")], [], null, null, named);
        Assert.Equal([Path.Combine(a, "y", "3.png").Replace('\\', '/')], named); // a file named directly is its own key
    }
}
