// Loads a native library by probing candidate names, first through the system loader and then in the folders where
// CUDA installs put it, and resolves exports, so the assembly loads without CUDA present.
using System.Runtime.InteropServices;

namespace VcpNative.Tensors.Cuda.Driver;

/// <summary>Where a native library was found, or every place that was tried (for the one-line error and --verbose).</summary>
public sealed record NativeLibrarySearch(string Library, string? LoadedFrom, IReadOnlyList<string> Tried)
{
    /// <summary>"libcublas: /usr/local/cuda/lib64/libcublas.so.13" or "libcublas: not found (tried ...)".</summary>
    public string Describe() => LoadedFrom is not null
        ? $"{Library}: {LoadedFrom}"
        : $"{Library}: not found (tried {string.Join(", ", Tried)})";
}

internal static class NativeLibraryLoader
{
    /// <summary>Extra folders to search, colon-separated (searched before the built-in list).</summary>
    public const string PathVariable = "VCP_CUDA_LIBRARY_PATH";

    /// <summary>
    /// Tries each name through the system loader (LD_LIBRARY_PATH, the ldconfig cache), then each name in each folder.
    /// With <paramref name="companion"/> (e.g. libcublasLt next to libcublas) that library is loaded from the same
    /// folder first, so a library found outside the loader's path finds its sibling without LD_LIBRARY_PATH.
    /// </summary>
    public static bool TryLoad(string library, IReadOnlyList<string> names, IEnumerable<string> folders, out nint handle,
                               out NativeLibrarySearch search, Func<string, string?>? companion = null)
    {
        var tried = new List<string>();
        foreach (var name in names)
        {
            tried.Add(name);
            if (NativeLibrary.TryLoad(name, out handle))
            {
                search = new NativeLibrarySearch(library, name, tried);
                return true;
            }
        }
        foreach (var folder in ExtraFolders().Concat(folders).Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (var name in names)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path))
                {
                    continue;
                }
                tried.Add(path);
                if (companion?.Invoke(name) is { } sibling && File.Exists(Path.Combine(folder, sibling)))
                {
                    NativeLibrary.TryLoad(Path.Combine(folder, sibling), out _);
                }
                if (NativeLibrary.TryLoad(path, out handle))
                {
                    search = new NativeLibrarySearch(library, path, tried);
                    return true;
                }
            }
            tried.Add(folder + "/");
        }
        handle = 0;
        search = new NativeLibrarySearch(library, null, tried);
        return false;
    }

    private static IEnumerable<string> ExtraFolders() =>
        (Environment.GetEnvironmentVariable(PathVariable) ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// Folders where CUDA libraries live besides the loader's path: the toolkit (CUDA_HOME / CUDA_PATH,
    /// /usr/local/cuda), JetPack's Tegra folder, container driver mounts, and pip's nvidia-* wheels (CUDA 12 puts each
    /// library under nvidia/&lt;lib&gt;/lib, CUDA 13 all of them under nvidia/cu13/lib).
    /// </summary>
    public static IEnumerable<string> CudaFolders(string wheelLibrary)
    {
        foreach (var variable in new[] { "CUDA_HOME", "CUDA_PATH" })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } home)
            {
                yield return Path.Combine(home, "lib64");
                yield return Path.Combine(home, "lib");
            }
        }
        var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64" : "x86_64";
        yield return "/usr/local/cuda/lib64";
        yield return $"/usr/local/cuda/targets/{arch}-linux/lib";
        yield return $"/usr/lib/{arch}-linux-gnu";
        yield return $"/usr/lib/{arch}-linux-gnu/tegra";
        yield return "/usr/local/nvidia/lib64";
        yield return "/usr/local/nvidia/lib";
        yield return "/usr/lib/wsl/lib";
        foreach (var sitePackages in PythonSitePackages())
        {
            yield return Path.Combine(sitePackages, "nvidia", "cu13", "lib");
            yield return Path.Combine(sitePackages, "nvidia", wheelLibrary, "lib");
        }
    }

    // site-packages of the virtual environment in use, of /opt/*/.venv and of the system Pythons: a bounded glob.
    private static IEnumerable<string> PythonSitePackages()
    {
        var roots = new List<string>();
        if (Environment.GetEnvironmentVariable("VIRTUAL_ENV") is { Length: > 0 } venv)
        {
            roots.Add(Path.Combine(venv, "lib"));
        }
        roots.Add("/usr/local/lib");
        roots.Add("/usr/lib");
        if (Directory.Exists("/opt"))
        {
            roots.AddRange(SafeDirectories("/opt").Select(d => Path.Combine(d, ".venv", "lib")));
        }
        foreach (var root in roots.Where(Directory.Exists))
        {
            foreach (var python in SafeDirectories(root).Where(d => Path.GetFileName(d).StartsWith("python3", StringComparison.Ordinal)))
            {
                yield return Path.Combine(python, "site-packages");
                yield return Path.Combine(python, "dist-packages");
            }
        }
    }

    private static string[] SafeDirectories(string folder)
    {
        try
        {
            return Directory.GetDirectories(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The address of an export; a missing symbol means an unusable (too old) library.</summary>
    public static nint Export(nint library, string libraryName, string symbol) =>
        NativeLibrary.TryGetExport(library, symbol, out nint address)
            ? address
            : throw new CudaUnavailableException($"{libraryName} has no symbol {symbol}: driver/library too old for vcp-native; use the cpu or emulated device");
}
