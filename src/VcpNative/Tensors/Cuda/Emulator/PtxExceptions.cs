// Exception types raised by the PTX emulator: parse errors, unsupported instructions, sanitizer-style memory faults.
namespace VcpNative.Tensors.Cuda.Emulator;

/// <summary>PTX text that the parser cannot read (bad syntax, unknown register, unknown label).</summary>
public sealed class PtxParseException : Exception
{
    /// <summary>1-based PTX line the error is on.</summary>
    public int Line { get; }

    /// <summary>Creates the exception for <paramref name="line"/> of the PTX text.</summary>
    public PtxParseException(int line, string message) : base($"PTX line {line}: {message}") => Line = line;
}

/// <summary>An instruction or modifier the emulator does not implement; raised when the module is loaded.</summary>
public sealed class PtxUnsupportedInstructionException : Exception
{
    /// <summary>The PTX opcode the emulator does not implement.</summary>
    public string Opcode { get; }

    /// <summary>1-based PTX line of the instruction.</summary>
    public int Line { get; }

    /// <summary>Creates the exception for <paramref name="opcode"/> at <paramref name="line"/>, with an optional reason.</summary>
    public PtxUnsupportedInstructionException(string opcode, int line, string? why = null)
        : base($"PTX line {line}: unsupported instruction '{opcode}'" + (why is null ? "" : $" ({why})"))
    {
        Opcode = opcode;
        Line = line;
    }
}

/// <summary>What a faulting memory access did wrong.</summary>
public enum PtxViolationKind
{
    /// <summary>The address is outside every allocation (or the shared/local window).</summary>
    OutOfBounds,
    /// <summary>The address is not a multiple of the access width.</summary>
    Misaligned,
    /// <summary>Shared memory read before any thread of the block wrote it.</summary>
    UninitializedSharedRead,
}

/// <summary>A memory access outside every allocation (or misaligned, or reading never-written shared memory),
/// reported like a sanitizer: kernel, block, thread, address, state space and PTX line.</summary>
public sealed class PtxMemoryViolationException : Exception
{
    /// <summary>The kernel that faulted.</summary>
    public string Kernel { get; }

    /// <summary>Block index of the faulting thread.</summary>
    public Dim3 Block { get; }

    /// <summary>Thread index within the block.</summary>
    public Dim3 Thread { get; }

    /// <summary>The address accessed.</summary>
    public ulong Address { get; }

    /// <summary>State space of the access ("global", "shared", ...).</summary>
    public string Space { get; }

    /// <summary>What was wrong with the access.</summary>
    public PtxViolationKind Kind { get; }

    /// <summary>True for a store, false for a load.</summary>
    public bool IsWrite { get; }

    /// <summary>Creates the exception with the faulting thread, address, access and PTX line.</summary>
    public PtxMemoryViolationException(string kernel, Dim3 block, Dim3 thread, ulong address, int size, string space,
                                       PtxViolationKind kind, bool isWrite, int line)
        : base($"{kind} {(isWrite ? "write" : "read")} of {size} bytes at {space} address 0x{address:x} in kernel {kernel}, " +
               $"block {block}, thread {thread}, PTX line {line}")
    {
        Kernel = kernel;
        Block = block;
        Thread = thread;
        Address = address;
        Space = space;
        Kind = kind;
        IsWrite = isWrite;
    }
}

/// <summary>A kernel misbehaved in a way that is not a memory fault: deadlock at a barrier or warp-synchronous
/// instruction, a lane missing from a shuffle mask, a bad launch configuration or argument list.</summary>
public sealed class PtxExecutionException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public PtxExecutionException(string message) : base(message) { }
}
