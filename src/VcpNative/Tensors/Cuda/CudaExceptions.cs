// Exception types of the CUDA backend: driver unavailable, driver call failures.
namespace VcpNative.Tensors.Cuda;

/// <summary>No usable NVIDIA driver or library on this machine; the message is one line telling the user what to do.</summary>
public sealed class CudaUnavailableException : Exception
{
    public CudaUnavailableException(string message) : base(message) { }
}

/// <summary>A CUDA driver or cuBLAS call returned an error; carries the call name and the error code's name.</summary>
public sealed class CudaException : Exception
{
    public string Call { get; }

    public int Code { get; }

    public CudaException(string call, int code, string codeName, string? detail = null)
        : base(detail is null ? $"{call} failed: {codeName} ({code})" : $"{call} failed: {codeName} ({code}): {detail}")
    {
        Call = call;
        Code = code;
    }
}
