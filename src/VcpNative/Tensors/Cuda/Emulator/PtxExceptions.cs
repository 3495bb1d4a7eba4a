// Exception types raised by the PTX emulator: parse errors, unsupported instructions, sanitizer-style memory faults.
namespace VcpNative.Tensors.Cuda.Emulator;

/// <summary>PTX text that the parser cannot read (bad syntax, unknown register, unknown label).</summary>
public sealed class PtxParseException : Exception
{
    public int Line { get; }

    public PtxParseException(int line, string message) : base($"PTX line {line}: {message}") => Line = line;
}

/// <summary>An instruction or modifier the emulator does not implement; raised when the module is loaded.</summary>
public sealed class PtxUnsupportedInstructionException : Exception
{
    public string Opcode { get; }

    public int Line { get; }

    public PtxUnsupportedInstructionException(string opcode, int line, string? why = null)
        : base($"PTX line {line}: unsupported instruction '{opcode}'" + (why is null ? "" : $" ({why})"))
    {
        Opcode = opcode;
        Line = line;
    }
}

public enum PtxViolationKind
{
    OutOfBounds,
    Misaligned,
    UninitializedSharedRead,
}

/// <summary>A memory access outside every allocation (or misaligned, or reading never-written shared memory),
/// reported like a sanitizer: kernel, block, thread, address, state space and PTX line.</summary>
public sealed class PtxMemoryViolationException : Exception
{
    public string Kernel { get; }

    public Dim3 Block { get; }

    public Dim3 Thread { get; }

    public ulong Address { get; }

    public string Space { get; }

    public PtxViolationKind Kind { get; }

    public bool IsWrite { get; }

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
    public PtxExecutionException(string message) : base(message) { }
}
