// The data-cache sizes of the CPU this process runs on, read once at start-up: what the sgemm blocking is sized from.
using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>
/// Per-core L1 data and L2 cache sizes in bytes and where they came from ("cpuid", "sysfs" or "default"). L3 is not
/// read: virtual machines report the host's whole L3 (this 2-core EPYC guest reports 508 MB) and share it with other
/// guests, so a blocking sized from it would be a guess either way.
/// </summary>
internal sealed record CpuCaches(int L1Data, int L2, string Source)
{
    private const int DefaultL1 = 32 * 1024;
    private const int DefaultL2 = 512 * 1024;

    /// <summary>The caches of this machine (immutable after the first read).</summary>
    public static CpuCaches Current { get; } = Detect();

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"L1d {L1Data / 1024} KiB, L2 {L2 / 1024} KiB ({Source})");

    /// <summary>CPUID on x86 (leaf 4 on Intel, 0x8000001D or 0x80000005/6 on AMD), sysfs elsewhere, else 32 KiB / 512 KiB.</summary>
    public static CpuCaches Detect()
    {
        if (X86Base.IsSupported && FromCpuid() is { } x86)
        {
            return x86;
        }
        return FromSysfs("/sys/devices/system/cpu/cpu0/cache") ?? new CpuCaches(DefaultL1, DefaultL2, "default");
    }

    private static CpuCaches? FromCpuid()
    {
        var (maxLeaf, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        var amd = ebx == 0x68747541 && edx == 0x69746E65 && ecx == 0x444D4163; // "AuthenticAMD"
        var hygon = ebx == 0x6F677948; // "HygonGenuine"
        var (maxExtended, _, _, _) = X86Base.CpuId(unchecked((int)0x80000000), 0);
        var l1 = 0;
        var l2 = 0;
        // Deterministic cache parameters: leaf 4 (Intel) and 0x8000001D (AMD with topology extensions) share a layout.
        var leaf = amd || hygon ? unchecked((int)0x8000001D) : 4;
        if ((amd || hygon ? (uint)maxExtended >= 0x8000001D : maxLeaf >= 4))
        {
            for (var sub = 0; sub < 16; sub++)
            {
                var (a, b, c, _) = X86Base.CpuId(leaf, sub);
                var type = a & 31;
                if (type == 0)
                {
                    break;
                }
                var level = (a >> 5) & 7;
                var bytes = (((b >> 22) & 0x3FF) + 1) * (((b >> 12) & 0x3FF) + 1) * ((b & 0xFFF) + 1) * (c + 1);
                if (level == 1 && type is 1 or 3)
                {
                    l1 = bytes;
                }
                else if (level == 2 && type is 2 or 3)
                {
                    l2 = bytes;
                }
            }
        }
        // AMD's legacy leaves (kept by guests that hide the topology leaf): L1d KiB in 0x80000005 ECX[31:24], L2 KiB in 0x80000006 ECX[31:16].
        if (l1 == 0 && (amd || hygon) && (uint)maxExtended >= 0x80000005)
        {
            l1 = (int)((uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) * 1024;
        }
        if (l2 == 0 && (uint)maxExtended >= 0x80000006)
        {
            l2 = (int)((uint)X86Base.CpuId(unchecked((int)0x80000006), 0).Ecx >> 16) * 1024;
        }
        return Plausible(l1, l2) ? new CpuCaches(l1, l2, "cpuid") : null;
    }

    /// <summary>Linux's cache description (index*/level, type, size like "48K"): arm64 and x86 guests without CPUID leaves.</summary>
    internal static CpuCaches? FromSysfs(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return null;
        }
        var l1 = 0;
        var l2 = 0;
        foreach (var index in Directory.EnumerateDirectories(folder, "index*"))
        {
            try
            {
                var level = File.ReadAllText(Path.Combine(index, "level")).Trim();
                var type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                var size = ParseSize(File.ReadAllText(Path.Combine(index, "size")).Trim());
                if (level == "1" && type is "Data" or "Unified")
                {
                    l1 = size;
                }
                else if (level == "2" && type is "Data" or "Unified")
                {
                    l2 = size;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
            {
                // One unreadable entry: the others (or the defaults) still size the blocking.
            }
        }
        return Plausible(l1, l2) ? new CpuCaches(l1, l2, "sysfs") : null;
    }

    private static int ParseSize(string text)
    {
        var multiplier = 1;
        if (text.EndsWith('K'))
        {
            multiplier = 1024;
            text = text[..^1];
        }
        else if (text.EndsWith('M'))
        {
            multiplier = 1024 * 1024;
            text = text[..^1];
        }
        return checked(int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture) * multiplier);
    }

    // Anything outside these ranges is a hypervisor's invention; the defaults are safer than sizing blocks from it.
    private static bool Plausible(int l1, int l2) =>
        l1 is >= 8 * 1024 and <= 256 * 1024 && l2 is >= 64 * 1024 and <= 32 * 1024 * 1024 && l2 > l1;
}
