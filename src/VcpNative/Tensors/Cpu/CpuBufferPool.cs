// Reuses float arrays of exact lengths so that steady-state inference allocates nothing per op.
namespace VcpNative.Tensors.Cpu;

/// <summary>
/// Exact-length pool of managed arrays. A forward pass over images of one size asks for the same lengths every
/// time, so exact matching wastes no memory and gives full reuse. Bounded by <see cref="MaxPooledBytes"/>.
/// </summary>
public sealed class CpuBufferPool
{
    private readonly Dictionary<long, Stack<Array>> free = new();
    private readonly Lock gate = new();
    private long pooledBytes;

    /// <summary>Most bytes kept in the pool; arrays returned beyond it are left to the GC.</summary>
    public long MaxPooledBytes { get; set; } = 4L << 30;

    /// <summary>Number of arrays handed out that had to be newly allocated (for tests and benchmarks).</summary>
    public long Misses { get; private set; }

    /// <summary>Number of arrays handed out from the pool (for tests and benchmarks).</summary>
    public long Hits { get; private set; }

    /// <summary>An array of exactly <paramref name="length"/> elements, from the pool if one is free; cleared when <paramref name="zero"/>.</summary>
    public T[] Rent<T>(long length, bool zero)
        where T : struct
    {
        var bytes = length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (gate)
        {
            if (free.TryGetValue(Key<T>(length), out var stack) && stack.Count > 0)
            {
                var array = (T[])stack.Pop();
                pooledBytes -= bytes;
                Hits++;
                if (zero)
                {
                    Array.Clear(array);
                }
                return array;
            }
            Misses++;
        }
        // Large buffers skip zeroing by the runtime when the caller overwrites them anyway.
        return zero || length < 1024 ? new T[length] : GC.AllocateUninitializedArray<T>((int)length);
    }

    /// <summary>Gives <paramref name="array"/> back for reuse (dropped if the pool is full).</summary>
    public void Return<T>(T[] array)
        where T : struct
    {
        var bytes = (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (gate)
        {
            if (pooledBytes + bytes > MaxPooledBytes)
            {
                return;
            }
            var key = Key<T>(array.Length);
            if (!free.TryGetValue(key, out var stack))
            {
                stack = new Stack<Array>();
                free[key] = stack;
            }
            stack.Push(array);
            pooledBytes += bytes;
        }
    }

    /// <summary>Drops every pooled array (e.g. after a run with different shapes).</summary>
    public void Clear()
    {
        lock (gate)
        {
            free.Clear();
            pooledBytes = 0;
        }
    }

    // Element type in the top bits so float[] and int[] of one length never mix.
    private static long Key<T>(long length) => length | ((long)TypeCode<T>.Value << 56);

    private static class TypeCode<T>
    {
        public static readonly int Value = typeof(T) == typeof(float) ? 1 : typeof(T) == typeof(ushort) ? 2 : typeof(T) == typeof(int) ? 3 : typeof(T) == typeof(long) ? 4 : typeof(T) == typeof(sbyte) ? 5 : 6;
    }
}
