// The real driver on a machine without one: a single-line CudaUnavailableException, nothing else breaks.
using Xunit;
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Driver;

namespace VcpNative.Tests.Tensors.Cuda;

public class CudaDriverTests
{
    [Fact]
    public void Without_libcuda_creating_the_driver_throws_one_line()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out nint lib))
        {
            NativeLibrary.Free(lib);
            return; // a machine with an NVIDIA driver: this test's premise does not hold here
        }
        var ex = Assert.Throws<CudaUnavailableException>(() => new CudaDriver());
        // The places tried depend on the machine (toolkit folders, VCP_CUDA_LIBRARY_PATH), so only the frame is fixed.
        Assert.StartsWith("libcuda.so.1 not found: no NVIDIA driver on this machine (tried libcuda.so.1", ex.Message);
        Assert.EndsWith("); use the cpu or emulated device", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        // The emulator keeps working in the same process.
        using var emu = new VcpNative.Tensors.Cuda.Emulator.PtxEmulator();
        Assert.True(emu.Device.IsEmulated);
    }
}
