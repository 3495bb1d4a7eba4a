// Exception types of the CUDA backend: driver unavailable, driver call failures.
namespace VcpNative.Tensors.Cuda;

/// <summary>No usable NVIDIA driver or library on this machine; the message is one line telling the user what to do.</summary>
public sealed class CudaUnavailableException : Exception
{
    /// <summary>Creates the exception with the reason CUDA cannot be used.</summary>
    public CudaUnavailableException(string message) : base(message) { }
}

/// <summary>A CUDA driver or cuBLAS call returned an error; carries the call name and the error code's name.</summary>
public sealed class CudaException : Exception
{
    /// <summary>The driver or cuBLAS call that failed, e.g. "cuMemAlloc_v2".</summary>
    public string Call { get; }

    /// <summary>The numeric status code the call returned.</summary>
    public int Code { get; }

    /// <summary>Creates the exception for <paramref name="call"/> returning <paramref name="code"/> (<paramref name="codeName"/>), with optional detail.</summary>
    public CudaException(string call, int code, string codeName, string? detail = null)
        : base(detail is null ? $"{call} failed: {codeName} ({code})" : $"{call} failed: {codeName} ({code}): {detail}")
    {
        Call = call;
        Code = code;
    }
}
