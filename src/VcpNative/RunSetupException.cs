// A library run refused before it started because one of its options does not fit (the CLI names the flag).
namespace VcpNative;

/// <summary>
/// An option of <see cref="TrainerOptions"/> or <see cref="EvaluatorOptions"/> that cannot be used as given: a missing
/// file, an unreadable dataset, a combination the method does not support. Thrown before any work is done.
/// </summary>
/// <param name="setting">The options property at fault, e.g. <c>nameof(TrainerOptions.ValidationData)</c>.</param>
/// <param name="message">What is wrong, without the property's name.</param>
/// <param name="inner">The underlying error, if any.</param>
public sealed class RunSetupException(string setting, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The options property at fault (a C# property name, not a command-line flag).</summary>
    public string Setting { get; } = setting;
}
