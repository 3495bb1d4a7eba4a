// The sgemm blocking sized from the CPU's caches, the cache detection it reads, and the thread-split choice.
using VcpNative.Tensors.Cpu;
using Xunit;

namespace VcpNative.Tests.Tensors.Cpu;

public sealed unsafe class GemmBlockingTests
{
    [Fact]
    public void ForCaches_KeepsTheMeasuredBlockingOnCachesAtLeastAsLarge()
    {
        var zen5 = new CpuCaches(48 * 1024, 1024 * 1024, "test");
        var kernel = SgemmKernel.ForCaches("t", 6, 16, 256, 144, 4096, true, null, zen5);
        Assert.Equal((256, 144, 4096), (kernel.Kc, kernel.Mc, kernel.Nc));
        var zen3 = new CpuCaches(32 * 1024, 512 * 1024, "test");
        kernel = SgemmKernel.ForCaches("t", 6, 16, 256, 144, 4096, true, null, zen3);
        Assert.Equal((256, 144, 4096), (kernel.Kc, kernel.Mc, kernel.Nc));
    }

    [Fact]
    public void ForCaches_ShrinksBlocksToSmallerCaches()
    {
        // A 12x32 AVX-512 B micro-panel of KC=256 is 32 KiB: all of a 32 KiB L1d, so KC halves.
        var skylake = new CpuCaches(32 * 1024, 256 * 1024, "test");
        var kernel = SgemmKernel.ForCaches("t", 12, 32, 256, 144, 4096, true, null, skylake);
        Assert.Equal(128, kernel.Kc);
        // A block of MC x 128 floats in at most half of 256 KiB: MC <= 256, so the measured 144 stays.
        Assert.Equal(144, kernel.Mc);
        // 6x16 on 256 KiB L2: an A block of MC x 256 floats in 128 KiB gives MC 126 (a multiple of MR = 6).
        kernel = SgemmKernel.ForCaches("t", 6, 16, 256, 144, 4096, true, null, skylake);
        Assert.Equal((256, 126), (kernel.Kc, kernel.Mc));
        Assert.Equal(0, kernel.Mc % kernel.Mr);
        // A tiny L2 never drives MC below one register tile.
        kernel = SgemmKernel.ForCaches("t", 8, 12, 256, 128, 1536, true, null, new CpuCaches(16 * 1024, 64 * 1024, "test"));
        Assert.True(kernel.Mc >= kernel.Mr && kernel.Mc % kernel.Mr == 0, kernel.Blocking);
    }

    [Fact]
    public void Detect_ReportsPlausibleCachesOfThisMachine()
    {
        var caches = CpuCaches.Detect();
        Assert.InRange(caches.L1Data, 8 * 1024, 256 * 1024);
        Assert.InRange(caches.L2, caches.L1Data + 1, 32 * 1024 * 1024);
        Assert.Contains(caches.Source, new[] { "cpuid", "sysfs", "default" });
    }

    [Fact]
    public void FromSysfs_ReadsLinuxCacheFolders()
    {
        var root = Directory.CreateTempSubdirectory("vcp-caches-");
        try
        {
            Write(root.FullName, "index0", "1", "Data", "64K");
            Write(root.FullName, "index1", "1", "Instruction", "32K");
            Write(root.FullName, "index2", "2", "Unified", "1024K");
            Write(root.FullName, "index3", "3", "Unified", "32M");
            var caches = CpuCaches.FromSysfs(root.FullName);
            Assert.Equal(new CpuCaches(64 * 1024, 1024 * 1024, "sysfs"), caches);
            // An implausible description (L2 smaller than L1) is refused rather than used.
            Write(root.FullName, "index2", "2", "Unified", "16K");
            Assert.Null(CpuCaches.FromSysfs(root.FullName));
            Assert.Null(CpuCaches.FromSysfs(Path.Combine(root.FullName, "missing")));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void Split_ParsesTheOverrideAndRefusesTypos()
    {
        Assert.Equal(SgemmSplitMode.Auto, SgemmSplit.Parse(null));
        Assert.Equal(SgemmSplitMode.Auto, SgemmSplit.Parse("auto"));
        Assert.Equal(SgemmSplitMode.SharedB, SgemmSplit.Parse("shared"));
        Assert.Equal(SgemmSplitMode.Columns, SgemmSplit.Parse(" Columns "));
        var error = Assert.Throws<ArgumentException>(() => SgemmSplit.Parse("colums"));
        Assert.Contains("'colums'", error.Message);
    }

    [Fact]
    public void Split_AutoUsesColumnStripesOnlyForWideProducts()
    {
        var kernel = SgemmKernel.Default;
        Assert.True(SgemmSplit.UseColumns(SgemmSplitMode.Auto, 4096, kernel.Nr, 2));
        Assert.True(SgemmSplit.UseColumns(SgemmSplitMode.Auto, 1024, kernel.Nr, 2));
        Assert.False(SgemmSplit.UseColumns(SgemmSplitMode.Auto, 511, kernel.Nr, 2));
        Assert.False(SgemmSplit.UseColumns(SgemmSplitMode.SharedB, 4096, kernel.Nr, 2));
        Assert.True(SgemmSplit.UseColumns(SgemmSplitMode.Columns, 2 * kernel.Nr, kernel.Nr, 2));
        Assert.Equal(2, SgemmSplit.ColumnStripes(1024, 2));
        Assert.Equal(2, SgemmSplit.ColumnStripes(3072, 2));
        Assert.Equal(4, SgemmSplit.ColumnStripes(4096, 2));
        Assert.Equal(8, SgemmSplit.ColumnStripes(8192, 2));
    }

    private static void Write(string root, string index, string level, string type, string size)
    {
        var folder = Directory.CreateDirectory(Path.Combine(root, index)).FullName;
        File.WriteAllText(Path.Combine(folder, "level"), level + "\n");
        File.WriteAllText(Path.Combine(folder, "type"), type + "\n");
        File.WriteAllText(Path.Combine(folder, "size"), size + "\n");
    }
}
