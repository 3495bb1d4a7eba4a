// Loads a native library by probing candidate names and resolves exports, so the assembly loads without CUDA present.
using System.Runtime.InteropServices;

namespace VcpNative.Tensors.Cuda.Driver;

internal static class NativeLibraryLoader
{
    public static bool TryLoad(string[] candidates, out nint handle, out string loadedName)
    {
        foreach (var name in candidates)
        {
            if (NativeLibrary.TryLoad(name, out handle))
            {
                loadedName = name;
                return true;
            }
        }
        handle = 0;
        loadedName = "";
        return false;
    }

    /// <summary>The address of an export; a missing symbol means an unusable (too old) library.</summary>
    public static nint Export(nint library, string libraryName, string symbol) =>
        NativeLibrary.TryGetExport(library, symbol, out nint address)
            ? address
            : throw new CudaUnavailableException($"{libraryName} has no symbol {symbol}: driver/library too old for vcp-native; use --device cpu or --device emulated");
}
