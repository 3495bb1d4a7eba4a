#!/usr/bin/env python3
"""Token-id golden vectors for ClipTokenizer, from an independent Python port of OpenAI CLIP's simple_tokenizer.py
as modified by VCP-CLIP (extra special token <|class|> = 49408, matched atomically by the split pattern).

Run from the repository root:  /usr/bin/python3 tools/golden/make_tokenizer_fixtures.py
Writes tests/VcpNative.Tests/Fixtures/text/clip_tokenizer_vectors.json.

Differences from the original, all irrelevant to ASCII prompts:
  * no ftfy.fix_text (ftfy is not installed; ClipTokenizer does not do it either);
  * the `regex` package is not installed, so the split pattern
      <|startoftext|>|<|endoftext|>|<|class|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+
    is applied by an explicit scanner (leftmost alternative wins, greedy runs) with \\p{L}/\\p{N} taken from
    unicodedata categories and \\s = the Unicode White_Space property (what `regex` uses).
"""
import gzip, html, json, os, unicodedata

BPE = '/work/shared/data/bpe_simple_vocab_16e6.txt.gz'
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'VcpNative.Tests', 'Fixtures', 'text', 'clip_tokenizer_vectors.json')
WHITE_SPACE = set('\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000') | {chr(c) for c in range(0x2000, 0x200b)}

def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))

def is_letter(ch): return unicodedata.category(ch).startswith('L')
def is_number(ch): return unicodedata.category(ch).startswith('N')

def split(text, specials):
    out, i = [], 0
    contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
    while i < len(text):
        ch = text[i]
        hit = next((s for s in specials + contractions if text.startswith(s, i)), None)
        if hit:
            out.append(hit); i += len(hit); continue
        if is_letter(ch):
            j = i
            while j < len(text) and is_letter(text[j]): j += 1
            out.append(text[i:j]); i = j; continue
        if is_number(ch):
            out.append(ch); i += 1; continue
        if ch in WHITE_SPACE:
            i += 1; continue  # unmatched by the pattern: findall skips it
        j = i
        while j < len(text) and not (text[j] in WHITE_SPACE or is_letter(text[j]) or is_number(text[j])): j += 1
        out.append(text[i:j]); i = j
    return out

class Tokenizer:
    def __init__(self, with_class):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(BPE).read().decode('utf-8').split('\n')[1:49152 - 256 - 2 + 1]
        merges = [tuple(m.split()) for m in merges]
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + '</w>' for v in vocab] + [''.join(m) for m in merges]
        self.specials = ['<|startoftext|>', '<|endoftext|>'] + (['<|class|>'] if with_class else [])
        vocab += self.specials
        self.encoder = {v: i for i, v in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}

    def bpe(self, token):
        if token in self.specials:
            return [token]
        word = list(token[:-1]) + [token[-1] + '</w>']
        while len(word) > 1:
            pairs = {(word[k], word[k + 1]) for k in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float('inf')))
            if best not in self.ranks:
                break
            new, k = [], 0
            while k < len(word):
                if k < len(word) - 1 and word[k] == best[0] and word[k + 1] == best[1]:
                    new.append(best[0] + best[1]); k += 2
                else:
                    new.append(word[k]); k += 1
            word = new
        return word

    def encode(self, text):
        text = html.unescape(html.unescape(text)).strip()
        text = ' '.join(''.join(' ' if c in WHITE_SPACE else c for c in text).split(' '))
        text = ' '.join(t for t in text.split(' ') if t).strip().lower()
        ids = []
        for tok in split(text, self.specials):
            tok = ''.join(self.byte_encoder[b] for b in tok.encode('utf-8'))
            ids += [self.encoder[t] for t in self.bpe(tok)]
        return [49406] + ids + [49407]

TEXTS = [
    'a photo of a good <|class|>', 'a photo of a damaged <|class|>', 'X X X X X X X good X X X',
    'X X X X X X X damaged X X X', 'a photo of a flawless <|class|>', 'A PHOTO of a Scratched <|CLASS|>',
    '', '   ', 'hello world', "it's a dog's life, isn't it? we'll see; they'd've", "''s rock'n'roll",
    'numbers 12345 and 3.14159 and 1,000,000', 'x=1+2*3/4-5 (a) [b] {c} <d> #tag @user $9.99 100%',
    'metal_nut screw-driver pcb1 pcb4 macaroni2 pipe_fryum', 'hazelnut with a crack on the top-left corner!!!',
    'supercalifragilisticexpialidocious antidisestablishmentarianism', 'tab\there\nnew   line\r\nend',
    'caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber stra\u00dfe', '\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u4e2d\u6587',
    '\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440 \u03b1\u03b2\u03b3', 'emoji \U0001F600 and \u2764 hearts',
    'fish &amp; chips &lt;b&gt; &amp;amp;', '<|startoftext|>inner<|endoftext|>', 'a<|class|>b <|class|><|class|>',
    'Ⅻ roman ² superscript ½ fraction', 'non\u00a0breaking\u2003em space', "O'Neil's 'quoted' \"double\"",
    '...---...', 'abc123def', 'a ' * 40, 'the quick brown fox jumps over the lazy dog ' * 2,
]

def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    vectors = []
    for with_class in (True, False):
        tok = Tokenizer(with_class)
        for t in TEXTS:
            vectors.append({'text': t, 'withClassToken': with_class, 'ids': tok.encode(t)})
    with open(OUT, 'w', encoding='utf-8') as f:
        json.dump(vectors, f, ensure_ascii=True, indent=0)
    for v in vectors[:4]:
        print(v['ids'])

if __name__ == '__main__':
    main()
