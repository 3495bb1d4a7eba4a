// The CPU thread pool is per runtime: entered per thread, nested scopes restore, two pools run side by side.
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using Xunit;

namespace VcpNative.Tests.Tensors.Cpu;

public sealed class CpuThreadPoolTests
{
    [Fact]
    public void Enter_SetsTheThreadsPool_AndNestedScopesRestore()
    {
        using var one = new CpuThreadPool(1);
        using var three = new CpuThreadPool(3);
        var outside = CpuThreadPool.Current;
        using (one.Enter())
        {
            Assert.Same(one, CpuThreadPool.Current);
            Assert.Equal(1, CpuParallel.Threads);
            using (three.Enter())
            {
                Assert.Equal(3, CpuParallel.Threads);
            }
            Assert.Same(one, CpuThreadPool.Current);
        }
        Assert.Same(outside, CpuThreadPool.Current);
    }

    [Fact]
    public void Loops_UseAtMostThePoolsThreads()
    {
        using var pool = new CpuThreadPool(2);
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        pool.For(64, i =>
        {
            seen[Environment.CurrentManagedThreadId] = true;
            Thread.SpinWait(20000);
        });
        Assert.InRange(seen.Count, 1, 2);
        using var single = new CpuThreadPool(1);
        var caller = Environment.CurrentManagedThreadId;
        single.For(16, i => Assert.Equal(caller, Environment.CurrentManagedThreadId));
    }

    [Fact]
    public async Task TwoPoolsWithDifferentThreadCounts_RunOneModelEachAtTheSameTime_WithTheSameResults()
    {
        // Two "detectors" in one process: a linear layer big enough to go parallel, on 1 and on 2 threads concurrently.
        var random = new Random(5);
        var x = new float[97 * 301];
        var w = new float[211 * 301];
        for (var i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble() - 0.5f;
        for (var i = 0; i < w.Length; i++) w[i] = (float)random.NextDouble() - 0.5f;
        float[] Run(int threads)
        {
            using var pool = new CpuThreadPool(threads);
            using var scope = pool.Enter();
            using var xt = Tensor.FromArray(x, [97, 301]);
            using var wt = Tensor.FromArray(w, [211, 301]);
            float[] last = [];
            for (var r = 0; r < 20; r++)
            {
                using var y = Ops.Linear(xt, wt, null);
                last = y.ToArray();
            }
            return last;
        }
        var a = Task.Run(() => Run(1));
        var b = Task.Run(() => Run(2));
        var results = await Task.WhenAll(a, b);
        // Each output element is summed in the same order whatever the thread count: bit-identical.
        Assert.Equal(results[0], results[1]);
    }

    [Fact]
    public void DisposedPool_RunsLoopsSerially_AndCannotBeEntered()
    {
        var pool = new CpuThreadPool(2);
        pool.For(8, _ => { });
        pool.Dispose();
        pool.Dispose();
        var caller = Environment.CurrentManagedThreadId;
        pool.For(8, _ => Assert.Equal(caller, Environment.CurrentManagedThreadId));
        Assert.Throws<ObjectDisposedException>(() => pool.Enter());
        CpuThreadPool.Shared.Dispose(); // the shared pool ignores it
        Assert.Equal(Environment.ProcessorCount, CpuThreadPool.Shared.Threads);
        CpuThreadPool.Shared.Enter().Dispose();
    }

    [Fact]
    public void BlockProfile_CountsOnlyTheBlocksOfTheThreadThatEnteredIt()
    {
        var profile = new BlockProfile();
        var other = new BlockProfile();
        using (profile.Enter())
        {
            var t = BlockProfile.Start();
            Thread.Sleep(2);
            BlockProfile.Lap(3, t);
            using (other.Enter())
            {
                BlockProfile.Lap(1, BlockProfile.Start());
            }
        }
        Assert.True(profile.Snapshot()[3] > 0);
        Assert.Equal(0, profile.Snapshot()[1]);
        Assert.Equal(0, other.Snapshot()[3]);
        Assert.Equal(0L, BlockProfile.Start()); // nothing entered here any more: the blocks pay one field test
        profile.Reset();
        Assert.All(profile.Snapshot(), s => Assert.Equal(0, s));
    }
}
