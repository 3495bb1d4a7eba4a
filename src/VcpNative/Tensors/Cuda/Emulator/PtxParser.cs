// Reads PTX text (as clang-14 and nvcc emit it) and decodes each kernel once into a PtxFunction.
using System.Globalization;

namespace VcpNative.Tensors.Cuda.Emulator;

internal static class PtxParser
{
    internal enum TokenKind { Statement, Label, Open, Close }

    internal readonly record struct Token(TokenKind Kind, string Text, int Line);

    public static PtxModule Parse(string text)
    {
        var tokens = Tokenize(text);
        string version = "", target = "";
        var moduleShared = new List<SharedDecl>();
        var functions = new Dictionary<string, PtxFunction>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t.Kind != TokenKind.Statement) throw new PtxParseException(t.Line, $"unexpected '{t.Text}' at module scope");
            string s = t.Text;
            if (s.StartsWith(".version", StringComparison.Ordinal)) version = s[8..].Trim();
            else if (s.StartsWith(".target", StringComparison.Ordinal)) target = s[7..].Trim();
            else if (s.StartsWith(".address_size", StringComparison.Ordinal))
            {
                if (s[13..].Trim() != "64") throw new PtxParseException(t.Line, $"only .address_size 64 is supported, found '{s}'");
            }
            else if (HasWord(s, ".entry"))
            {
                if (i + 1 >= tokens.Count || tokens[i + 1].Kind != TokenKind.Open)
                    throw new PtxParseException(t.Line, "kernel declaration without a body");
                int end = MatchingClose(tokens, i + 1);
                var fn = new FunctionBuilder(moduleShared).Build(t, tokens, i + 2, end);
                functions[fn.Name] = fn;
                i = end;
            }
            else if (HasWord(s, ".func")) throw new PtxUnsupportedInstructionException(".func", t.Line, "device function calls; inline them");
            else if (HasWord(s, ".shared")) moduleShared.Add(SharedDecl.Parse(s, t.Line));
            else if (HasWord(s, ".global") || HasWord(s, ".const"))
                throw new PtxUnsupportedInstructionException(HasWord(s, ".global") ? ".global variable" : ".const variable", t.Line);
            else throw new PtxParseException(t.Line, $"unexpected directive '{s}'");
        }
        return new PtxModule { Version = version, Target = target, Functions = functions };
    }

    private static bool HasWord(string s, string word)
    {
        int i = s.IndexOf(word, StringComparison.Ordinal);
        return i >= 0 && (i + word.Length == s.Length || !char.IsLetterOrDigit(s[i + word.Length]));
    }

    private static int MatchingClose(List<Token> tokens, int open)
    {
        int depth = 0;
        for (int i = open; i < tokens.Count; i++)
        {
            if (tokens[i].Kind == TokenKind.Open) depth++;
            else if (tokens[i].Kind == TokenKind.Close && --depth == 0) return i;
        }
        throw new PtxParseException(tokens[open].Line, "unterminated '{'");
    }

    /// <summary>Splits PTX into statements (ending in ';' or, for .version/.target/.address_size, a newline),
    /// labels and scope braces; comments are dropped and every token keeps its source line.</summary>
    private static List<Token> Tokenize(string text)
    {
        var result = new List<Token>();
        var sb = new System.Text.StringBuilder();
        int line = 1, startLine = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (ch == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n') i++;
                i--;
                continue;
            }
            if (ch == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                int close = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (close < 0) throw new PtxParseException(line, "unterminated comment");
                for (int k = i; k < close; k++) if (text[k] == '\n') line++;
                i = close + 1;
                continue;
            }
            bool empty = IsBlank(sb);
            if (ch == '\n')
            {
                string cur = sb.ToString().Trim();
                if (cur.StartsWith(".version", StringComparison.Ordinal) || cur.StartsWith(".target", StringComparison.Ordinal) ||
                    cur.StartsWith(".address_size", StringComparison.Ordinal))
                {
                    result.Add(new Token(TokenKind.Statement, cur, startLine));
                    sb.Clear();
                }
                else if (!empty) sb.Append(' ');
                line++;
                continue;
            }
            if (empty && !char.IsWhiteSpace(ch)) startLine = line;
            if (ch == ';')
            {
                if (!empty) result.Add(new Token(TokenKind.Statement, sb.ToString().Trim(), startLine));
                sb.Clear();
            }
            else if (ch == '{' && (empty || sb.ToString().TrimStart().StartsWith('.')))
            {
                if (!empty) result.Add(new Token(TokenKind.Statement, sb.ToString().Trim(), startLine));
                result.Add(new Token(TokenKind.Open, "{", line));
                sb.Clear();
            }
            else if (ch == '}' && empty)
            {
                result.Add(new Token(TokenKind.Close, "}", line));
                sb.Clear();
            }
            else if (ch == ':' && !empty && IsIdentifier(sb.ToString().Trim()))
            {
                result.Add(new Token(TokenKind.Label, sb.ToString().Trim(), startLine));
                sb.Clear();
            }
            else sb.Append(ch);
        }
        if (!IsBlank(sb)) throw new PtxParseException(line, $"statement without ';': '{sb.ToString().Trim()}'");
        return result;
    }

    private static bool IsBlank(System.Text.StringBuilder sb)
    {
        for (int i = 0; i < sb.Length; i++) if (!char.IsWhiteSpace(sb[i])) return false;
        return true;
    }

    internal static bool IsIdentifier(string s)
    {
        if (s.Length == 0 || !(char.IsLetter(s[0]) || s[0] is '_' or '$' or '%')) return false;
        for (int i = 1; i < s.Length; i++) if (!(char.IsLetterOrDigit(s[i]) || s[i] is '_' or '$')) return false;
        return true;
    }

    internal static PtxType ParseType(string s) => s switch
    {
        "b8" => PtxType.B8, "b16" => PtxType.B16, "b32" => PtxType.B32, "b64" => PtxType.B64,
        "u8" => PtxType.U8, "u16" => PtxType.U16, "u32" => PtxType.U32, "u64" => PtxType.U64,
        "s8" => PtxType.S8, "s16" => PtxType.S16, "s32" => PtxType.S32, "s64" => PtxType.S64,
        "f16" => PtxType.F16, "f32" => PtxType.F32, "f64" => PtxType.F64, "pred" => PtxType.Pred,
        _ => PtxType.None,
    };

    internal static int SizeOf(PtxType t) => t switch
    {
        PtxType.B8 or PtxType.U8 or PtxType.S8 => 1,
        PtxType.B16 or PtxType.U16 or PtxType.S16 or PtxType.F16 => 2,
        PtxType.B64 or PtxType.U64 or PtxType.S64 or PtxType.F64 => 8,
        _ => 4,
    };

    internal static bool IsSigned(PtxType t) => t is PtxType.S8 or PtxType.S16 or PtxType.S32 or PtxType.S64;

    internal static bool IsFloat(PtxType t) => t is PtxType.F16 or PtxType.F32 or PtxType.F64;

    internal sealed record SharedDecl(string Name, int Align, int Size, bool IsDynamic)
    {
        /// <summary>Parses "[.extern] .shared|.local .align N .b8 name[size]" (size empty for dynamic shared).</summary>
        public static SharedDecl Parse(string s, int line)
        {
            var parts = s.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            int align = 1;
            int elem = 1;
            string? decl = null;
            for (int i = 0; i < parts.Length; i++)
            {
                if (parts[i] == ".align" && i + 1 < parts.Length) align = int.Parse(parts[++i], CultureInfo.InvariantCulture);
                else if (parts[i].StartsWith('.') && ParseType(parts[i][1..]) != PtxType.None) elem = SizeOf(ParseType(parts[i][1..]));
                else if (!parts[i].StartsWith('.')) decl = string.Concat(parts[i..]);
            }
            if (decl is null) throw new PtxParseException(line, $"cannot read variable declaration '{s}'");
            int lb = decl.IndexOf('[');
            if (lb < 0) return new SharedDecl(decl, align, elem, false);
            string name = decl[..lb];
            string count = decl[(lb + 1)..decl.IndexOf(']')];
            if (count.Length == 0) return new SharedDecl(name, align, 0, true);
            return new SharedDecl(name, align, elem * int.Parse(count, CultureInfo.InvariantCulture), false);
        }
    }
}
