// Finds command-line tokens that look like options but are none of the verb's, and suggests the nearest valid one.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace VcpNative.Cli;

/// <summary>
/// System.CommandLine hands an unknown <c>--image_size</c> to a verb's file arguments (infer takes any number of
/// inputs); this check makes it a usage error in every verb, before any model is loaded or image read.
/// </summary>
public static class UnknownOptions
{
    /// <summary>The message for the first token that starts with '-' and is not an option of the verb (or a global one); null if none.</summary>
    public static string? Find(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var names = new List<string>();
        for (var c = parse.CommandResult as SymbolResult; c is not null; c = c.Parent)
        {
            if (c is CommandResult cr)
            {
                foreach (var option in cr.Command.Options.Where(o => ReferenceEquals(cr.Command, command) || o.Recursive))
                {
                    names.Add(option.Name);
                    names.AddRange(option.Aliases);
                }
            }
        }
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                break; // after "--" everything is an argument
            }
            var value = token.Value;
            if (token.Type != TokenType.Argument || value.Length < 2 || value[0] != '-' || names.Contains(value)
                || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }
            var nearest = names.Where(n => n.StartsWith('-')).MinBy(n => EditDistance(n, value.Split('=')[0]));
            return $"unknown option '{value}' for '{command.Name}'" + (nearest is null ? "" : $"; did you mean '{nearest}'?");
        }
        return null;
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions).</summary>
    public static int EditDistance(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            row[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
