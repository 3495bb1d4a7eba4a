// CLIP's byte-level BPE tokenizer (OpenAI simple_tokenizer.py), with VCP-CLIP's extra <|class|> special token.
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;

namespace VcpNative.Models.Text;

/// <summary>
/// Reproduces simple_tokenizer.py without ftfy: HTML-unescape twice, collapse whitespace, strip, lower-case, split
/// with <c>&lt;|startoftext|&gt;|&lt;|endoftext|&gt;[|&lt;|class|&gt;]|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+</c>
/// (an explicit scanner: leftmost alternative wins, runs are greedy, unmatched whitespace is skipped), map UTF-8
/// bytes through bytes_to_unicode, then apply the BPE merges by rank. Known gaps, none reachable from ASCII
/// prompts: no ftfy repair; .NET's HtmlDecode needs the ';' of named entities where Python's html.unescape
/// accepts some without; lower-casing is .NET's simple (one-to-one) mapping where Python's is the full one.
/// </summary>
public sealed class ClipTokenizer
{
    /// <summary>&lt;|startoftext|&gt;.</summary>
    public const int StartOfText = 49406;
    /// <summary>&lt;|endoftext|&gt;.</summary>
    public const int EndOfText = 49407;
    /// <summary>&lt;|class|&gt;, the class-name placeholder VCP-CLIP adds to the vocabulary.</summary>
    public const int ClassToken = 49408;
    /// <summary>CLIP's text context length.</summary>
    public const int DefaultContextLength = 77;

    // simple_tokenizer keeps merges[1 : 49152-256-2+1]: the first line of the file is a version header.
    private const int MergeCount = 49152 - 256 - 2;
    private const string ResourceName = "VcpNative.Models.Text.bpe_simple_vocab_16e6.txt.gz";

    private static readonly Lazy<BpeTables> EmbeddedTables = new(() =>
    {
        using Stream gz = typeof(ClipTokenizer).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the build");
        return BpeTables.Load(gz);
    });

    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    private readonly BpeTables _tables;
    private readonly (string Text, int Id)[] _specials;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <param name="withClassToken">true (VCP-CLIP): "&lt;|class|&gt;" is one token, id 49408, and the vocabulary
    /// has 49409 entries; false: plain CLIP, where that text splits into ordinary tokens.</param>
    public ClipTokenizer(bool withClassToken = true) : this(EmbeddedTables.Value, withClassToken) { }

    /// <summary>Loads the merges from a gzip stream of bpe_simple_vocab_16e6.txt.</summary>
    public ClipTokenizer(Stream gzippedMerges, bool withClassToken = true) : this(BpeTables.Load(gzippedMerges), withClassToken) { }

    private ClipTokenizer(BpeTables tables, bool withClassToken)
    {
        _tables = tables;
        _specials = withClassToken
            ? [("<|startoftext|>", StartOfText), ("<|endoftext|>", EndOfText), ("<|class|>", ClassToken)]
            : [("<|startoftext|>", StartOfText), ("<|endoftext|>", EndOfText)];
    }

    /// <summary>Number of token ids, specials included.</summary>
    public int VocabularySize => ClassToken + (_specials.Length == 3 ? 1 : 0);

    /// <summary>CLIP's tokenize(): [SOT] + Encode(text) + [EOT], zero-padded to <paramref name="contextLength"/>.
    /// Too long: throws, or with <paramref name="truncate"/> keeps the first contextLength ids and ends with EOT
    /// (open_clip's behaviour).</summary>
    public int[] Tokenize(string text, int contextLength = DefaultContextLength, bool truncate = false)
    {
        List<int> ids = EncodeToList(text);
        var result = new int[contextLength];
        int total = ids.Count + 2;
        if (total > contextLength && !truncate)
            throw new ArgumentException($"text needs {total} tokens with SOT/EOT, more than the context length {contextLength}: \"{Shorten(text)}\"", nameof(text));
        int body = Math.Min(ids.Count, contextLength - 2);
        result[0] = StartOfText;
        for (int i = 0; i < body; i++)
            result[1 + i] = ids[i];
        result[1 + body] = EndOfText;
        return result;
    }

    /// <summary>The BPE ids of the cleaned text, without SOT/EOT or padding.</summary>
    public int[] Encode(string text) => [.. EncodeToList(text)];

    /// <summary>Inverse mapping (simple_tokenizer.decode): '&lt;/w&gt;' becomes a space; invalid UTF-8 becomes U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            string piece = id switch
            {
                StartOfText => "<|startoftext|>",
                EndOfText => "<|endoftext|>",
                ClassToken when _specials.Length == 3 => "<|class|>",
                _ when id >= 0 && id < _tables.Vocabulary.Length => _tables.Vocabulary[id],
                _ => throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary of {VocabularySize}"),
            };
            if (id >= StartOfText)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(piece));
                continue;
            }
            string word = piece.EndsWith("</w>", StringComparison.Ordinal) ? piece[..^4] : piece;
            foreach (char c in word)
                bytes.Add(_tables.ByteDecoder[c]);
            if (word.Length != piece.Length)
                bytes.Add((byte)' ');
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    private List<int> EncodeToList(string text)
    {
        string cleaned = Clean(text);
        var ids = new List<int>();
        var utf8 = new byte[16];
        int i = 0;
        while (i < cleaned.Length)
        {
            int matched = MatchSpecial(cleaned, i, ids);
            if (matched > 0)
            {
                i += matched;
                continue;
            }
            int length = MatchContraction(cleaned, i);
            if (length == 0)
            {
                System.Buffers.OperationStatus _ = Rune.DecodeFromUtf16(cleaned.AsSpan(i), out Rune first, out int firstLength);
                if (Rune.IsWhiteSpace(first))
                {
                    i += firstLength; // not matched by the pattern; findall skips it
                    continue;
                }
                CharClass cls = Classify(first);
                length = firstLength;
                if (cls != CharClass.Number) // letters and "other" extend greedily over their own class
                {
                    while (i + length < cleaned.Length)
                    {
                        Rune.DecodeFromUtf16(cleaned.AsSpan(i + length), out Rune next, out int nextLength);
                        if (Classify(next) != cls || Rune.IsWhiteSpace(next))
                            break;
                        length += nextLength;
                    }
                }
            }
            ids.AddRange(Bpe(cleaned.Substring(i, length), ref utf8));
            i += length;
        }
        return ids;
    }

    private int MatchSpecial(string s, int at, List<int> ids)
    {
        foreach (var (special, id) in _specials)
        {
            if (string.CompareOrdinal(s, at, special, 0, special.Length) == 0)
            {
                ids.Add(id);
                return special.Length;
            }
        }
        return 0;
    }

    private static int MatchContraction(string s, int at)
    {
        foreach (string c in Contractions)
            if (string.CompareOrdinal(s, at, c, 0, c.Length) == 0)
                return c.Length;
        return 0;
    }

    private enum CharClass { Letter, Number, Other }

    private static CharClass Classify(Rune r)
    {
        if (Rune.IsLetter(r))
            return CharClass.Letter;
        return Rune.IsNumber(r) ? CharClass.Number : CharClass.Other;
    }

    /// <summary>basic_clean (minus ftfy) + whitespace_clean + lower().</summary>
    private static string Clean(string text)
    {
        string unescaped = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text)) ?? "";
        var sb = new StringBuilder(unescaped.Length);
        bool pendingSpace = false;
        foreach (char c in unescaped)
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }
            if (pendingSpace)
                sb.Append(' ');
            pendingSpace = false;
            sb.Append(c);
        }
        return sb.ToString().ToLowerInvariant();
    }

    private int[] Bpe(string token, ref byte[] utf8)
    {
        if (_cache.TryGetValue(token, out int[]? cached))
            return cached;
        int byteCount = Encoding.UTF8.GetByteCount(token);
        if (utf8.Length < byteCount)
            utf8 = new byte[byteCount];
        Encoding.UTF8.GetBytes(token, utf8);
        var word = new List<string>(byteCount);
        for (int b = 0; b < byteCount; b++)
            word.Add(_tables.ByteEncoder[utf8[b]].ToString());
        word[^1] += "</w>";

        while (word.Count > 1)
        {
            // The adjacent pair with the lowest merge rank; merged left to right wherever it occurs.
            int bestRank = int.MaxValue;
            (string, string) best = default;
            for (int k = 0; k + 1 < word.Count; k++)
            {
                if (_tables.Ranks.TryGetValue((word[k], word[k + 1]), out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                    best = (word[k], word[k + 1]);
                }
            }
            if (bestRank == int.MaxValue)
                break;
            var merged = new List<string>(word.Count);
            for (int k = 0; k < word.Count; k++)
            {
                if (k + 1 < word.Count && word[k] == best.Item1 && word[k + 1] == best.Item2)
                {
                    merged.Add(best.Item1 + best.Item2);
                    k++;
                }
                else
                {
                    merged.Add(word[k]);
                }
            }
            word = merged;
        }
        var ids = new int[word.Count];
        for (int k = 0; k < ids.Length; k++)
            ids[k] = _tables.Encoder[word[k]];
        _cache.TryAdd(token, ids);
        return ids;
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>Vocabulary shared by all tokenizer instances: byte mapping, id of every BPE symbol, merge ranks.</summary>
    private sealed class BpeTables
    {
        public required char[] ByteEncoder { get; init; }
        public required Dictionary<char, byte> ByteDecoder { get; init; }
        public required string[] Vocabulary { get; init; }
        public required Dictionary<string, int> Encoder { get; init; }
        public required Dictionary<(string, string), int> Ranks { get; init; }

        public static BpeTables Load(Stream gzipped)
        {
            using var gz = new GZipStream(gzipped, CompressionMode.Decompress, leaveOpen: true);
            using var reader = new StreamReader(gz, Encoding.UTF8);
            string[] lines = reader.ReadToEnd().Split('\n');
            if (lines.Length < MergeCount + 1)
                throw new InvalidDataException($"BPE merges file: expected at least {MergeCount + 1} lines, found {lines.Length}");

            char[] byteEncoder = BytesToUnicode();
            // Python lists the byte symbols in dict insertion order: the 188 printable bytes first, then the other
            // 68, i.e. in increasing order of the mapped character.
            char[] symbols = (char[])byteEncoder.Clone();
            Array.Sort(symbols);
            var vocabulary = new List<string>(StartOfText);
            foreach (char c in symbols)
                vocabulary.Add(c.ToString());
            foreach (char c in symbols)
                vocabulary.Add(c + "</w>");
            var ranks = new Dictionary<(string, string), int>(MergeCount);
            for (int m = 0; m < MergeCount; m++)
            {
                string line = lines[1 + m];
                int space = line.IndexOf(' ');
                if (space <= 0)
                    throw new InvalidDataException($"BPE merges file: line {m + 2}: expected 'first second', found \"{line}\"");
                (string, string) pair = (line[..space], line[(space + 1)..].TrimEnd('\r'));
                ranks[pair] = m; // a repeated pair keeps its last rank, as dict(zip(merges, range)) does
                vocabulary.Add(pair.Item1 + pair.Item2);
            }
            var encoder = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
            for (int id = 0; id < vocabulary.Count; id++)
                encoder[vocabulary[id]] = id; // later duplicates win, as dict(zip(vocab, range)) does
            var decoder = new Dictionary<char, byte>(256);
            for (int b = 0; b < 256; b++)
                decoder[byteEncoder[b]] = (byte)b;
            return new BpeTables { ByteEncoder = byteEncoder, ByteDecoder = decoder, Vocabulary = [.. vocabulary], Encoder = encoder, Ranks = ranks };
        }

        /// <summary>GPT-2's reversible byte -> printable character map: printable Latin-1 bytes map to themselves,
        /// the other 68 bytes to U+0100 upwards in byte order.</summary>
        private static char[] BytesToUnicode()
        {
            var map = new char[256];
            int next = 0;
            for (int b = 0; b < 256; b++)
            {
                bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                map[b] = printable ? (char)b : (char)(256 + next++);
            }
            return map;
        }
    }
}
