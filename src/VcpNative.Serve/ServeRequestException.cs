// The one failure family of a request: an HTTP status and a one-line message, answered as {"error": "..."}.
namespace VcpNative.Serve;

/// <summary>A request the server refuses or cannot finish, with the status it answers.</summary>
public sealed class ServeRequestException(int statusCode, string message) : Exception(message)
{
    /// <summary>The HTTP status of the answer (400, 401, 404, 413, 415, 422, 503, 504, ...).</summary>
    public int StatusCode { get; } = statusCode;
}
