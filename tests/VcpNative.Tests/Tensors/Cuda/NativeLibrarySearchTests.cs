// The CUDA library search: every place tried is named in the one-line error, VCP_CUDA_LIBRARY_PATH is searched.
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Driver;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Tensors.Cuda;

public class NativeLibrarySearchTests
{
    private readonly ITestOutputHelper output;

    public NativeLibrarySearchTests(ITestOutputHelper output) => this.output = output;

    [Fact]
    public void Cublas_error_names_the_candidates_and_the_folder_from_the_environment()
    {
        if (NativeLibrary.TryLoad("libcublas.so.13", out _) || NativeLibrary.TryLoad("libcublas.so.12", out _))
        {
            output.WriteLine("skipped: this machine has a real libcublas, so the search would succeed");
            return;
        }
        using var dir = new TempDirectory("cublas-search");
        // Not a shared object: found by the search, refused by the loader, and named in the error.
        var fake = Path.Combine(dir.Path, "libcublas.so.13");
        File.WriteAllText(fake, "not an ELF file");
        var saved = Environment.GetEnvironmentVariable("VCP_CUDA_LIBRARY_PATH");
        try
        {
            Environment.SetEnvironmentVariable("VCP_CUDA_LIBRARY_PATH", "/nonexistent-vcp-folder:" + dir.Path);
            var e = Assert.Throws<CudaUnavailableException>(() => new Cublas());
            output.WriteLine(e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains("libcublas.so.13", e.Message);
            Assert.Contains("libcublas.so.12", e.Message);
            Assert.Contains(fake, e.Message);
            Assert.Contains("VCP_CUDA_LIBRARY_PATH", e.Message);
            Assert.DoesNotContain("/nonexistent-vcp-folder", e.Message);   // folders that do not exist are not "tried"
        }
        finally
        {
            Environment.SetEnvironmentVariable("VCP_CUDA_LIBRARY_PATH", saved);
        }
    }

    [Fact]
    public void Describe_says_where_from_or_what_was_tried()
    {
        Assert.Equal("libcublas: /x/libcublas.so.13", new NativeLibrarySearch("libcublas", "/x/libcublas.so.13", ["libcublas.so.13"]).Describe());
        Assert.Equal("libcuda: not found (tried libcuda.so.1, /usr/lib/)", new NativeLibrarySearch("libcuda", null, ["libcuda.so.1", "/usr/lib/"]).Describe());
    }
}
