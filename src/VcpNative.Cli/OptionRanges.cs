// Range checks on numeric options, made while parsing: a bad value is a usage error (exit 2) before any work.
using System.CommandLine;
using System.Globalization;
using System.Numerics;

namespace VcpNative.Cli;

/// <summary>Adds a validator that refuses values outside [min, max], naming the option and the range.</summary>
public static class OptionRanges
{
    /// <summary>Refuses values of <paramref name="option"/> outside [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<T> InRange<T>(this Option<T> option, T min, T max) where T : INumber<T>
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<T>();
            if (value < min || value > max)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} {value} is out of range ({min}..{max})"));
            }
        });
        return option;
    }
}
