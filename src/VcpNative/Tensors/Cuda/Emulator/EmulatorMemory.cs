// Device global memory of the PTX emulator: bump-allocated, guard-separated buffers with bounds-checked lookup.
namespace VcpNative.Tensors.Cuda.Emulator;

internal sealed class EmulatorMemory
{
    /// <summary>Global allocations start high (like real device addresses) so small integers never look valid.</summary>
    public const ulong GlobalBase = 0x7f00_0000_0000;

    // Allocations are never re-used and are separated by a guard gap, so an off-by-one index lands in no buffer
    // and a dangling pointer to freed memory faults instead of reading a newer allocation.
    private const ulong Alignment = 256;
    private const ulong GuardBytes = 256;

    private ulong _next = GlobalBase;
    private ulong[] _bases = new ulong[16];
    private byte[][] _data = new byte[16][];
    private int _count;
    private int _lastHit;

    public long BytesAllocated { get; private set; }

    public DevicePtr Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(bytes), $"emulated allocation of {bytes} bytes exceeds {Array.MaxLength}");
        if (_count == _bases.Length)
        {
            Array.Resize(ref _bases, _count * 2);
            Array.Resize(ref _data, _count * 2);
        }
        ulong address = _next;
        _bases[_count] = address;
        _data[_count] = new byte[bytes];
        _count++;
        _next = (address + (ulong)bytes + GuardBytes + Alignment - 1) / Alignment * Alignment;
        BytesAllocated += bytes;
        return new DevicePtr(address);
    }

    /// <summary>Frees the allocation starting at <paramref name="ptr"/> and returns its (now detached) backing array.</summary>
    public byte[] Free(DevicePtr ptr)
    {
        int i = Find(ptr.Address);
        if (i < 0 || _bases[i] != ptr.Address) throw new ArgumentException($"Free of {ptr}: not the start of a live emulated allocation");
        var freed = _data[i];
        BytesAllocated -= freed.Length;
        Array.Copy(_bases, i + 1, _bases, i, _count - i - 1);
        Array.Copy(_data, i + 1, _data, i, _count - i - 1);
        _count--;
        _data[_count] = null!;
        _lastHit = 0;
        return freed;
    }

    /// <summary>Finds the allocation holding [address, address + size); false when any byte is outside it.</summary>
    public bool TryResolve(ulong address, int size, out byte[] data, out int offset)
    {
        int i = _lastHit;
        if (i >= _count || address < _bases[i] || address - _bases[i] + (ulong)size > (ulong)_data[i].Length)
        {
            i = Find(address);
            if (i < 0 || address - _bases[i] + (ulong)size > (ulong)_data[i].Length)
            {
                data = null!;
                offset = 0;
                return false;
            }
            _lastHit = i;
        }
        data = _data[i];
        offset = (int)(address - _bases[i]);
        return true;
    }

    /// <summary>The backing array of the allocation holding [ptr, ptr + bytes) (the stream model's key for it).</summary>
    public byte[] AllocationOf(DevicePtr ptr, long bytes, string operation)
    {
        if (bytes > int.MaxValue || !TryResolve(ptr.Address, (int)Math.Max(bytes, 1), out var data, out _))
            throw new ArgumentOutOfRangeException(nameof(ptr), $"{operation}: [{ptr}, +{bytes}) is not inside one live emulated allocation");
        return data;
    }

    /// <summary>"allocation 0x... (N bytes)" for a backing array, for error messages.</summary>
    public string Describe(byte[] data)
    {
        for (int i = 0; i < _count; i++)
            if (ReferenceEquals(_data[i], data)) return $"device allocation 0x{_bases[i]:x} ({data.Length} bytes)";
        return $"a freed device allocation ({data.Length} bytes)";
    }

    /// <summary>Host-side access for copies: the span [ptr, ptr + bytes) or a one-line error.</summary>
    public Span<byte> HostSpan(DevicePtr ptr, long bytes, string operation)
    {
        if (bytes == 0) return [];
        if (bytes > int.MaxValue || !TryResolve(ptr.Address, (int)bytes, out var data, out int off))
            throw new ArgumentOutOfRangeException(nameof(ptr), $"{operation}: [{ptr}, +{bytes}) is not inside one live emulated allocation");
        return data.AsSpan(off, (int)bytes);
    }

    // Index of the allocation with the greatest base <= address, or -1.
    private int Find(ulong address)
    {
        int lo = 0, hi = _count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (_bases[mid] <= address) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }
}
