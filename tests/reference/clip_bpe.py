"""Independent reference for CLIP's byte-level BPE tokenizer (plain Python, no `regex`, no `ftfy`).

Restatement of the published algorithm (OpenAI CLIP, simple_tokenizer):
  * byte -> printable character table: the printable byte values ('!'..'~', '\xa1'..'\xac', '\xae'..'\xff')
    map to themselves; the remaining 68 byte values map, in increasing order, to chr(256), chr(257), ...
  * vocabulary: those 256 characters (the 188 printable bytes in increasing order, then the 68 others),
    then each of them + '</w>', then one entry per merge (the two halves concatenated) for the first
    49152 - 256 - 2 merge lines after the header line, then '<|startoftext|>' and '<|endoftext|>'. A merge's rank is its line index.
  * clean-up: html.unescape twice, strip; collapse every run of whitespace (Python's `\\s`) to one space,
    strip; lower-case. (CLIP first runs ftfy.fix_text, which is not installed here: mojibake repair and
    similar are out of scope for both implementations.)
  * pre-tokenisation (CLIP's regex, restated by code point): the literal special tokens; the contractions
    's 't 're 've 'm 'll 'd; a maximal run of letters (category L*); one number (category N*); a maximal run
    of characters that are neither whitespace nor letter nor number. Whitespace separates pieces.
  * each piece is UTF-8 encoded, each byte mapped through the table; the last symbol gets '</w>'. Then,
    repeatedly, the adjacent pair with the lowest merge rank is found and all its non-overlapping
    occurrences, left to right, are merged, until no adjacent pair has a rank. Symbols map to vocabulary ids.

Usage: clip_bpe.py --out FILE --seed N --in STRINGS.json   (a JSON list of strings)
Writes one int32 tensor per input string, named by its index, holding the ids (no SOT/EOT).
"""
import argparse
import gzip
import html
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "..", "third_party", "clip", "bpe_simple_vocab_16e6.txt.gz")
SPECIAL = ["<|startoftext|>", "<|endoftext|>"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]


def byte_table():
    """Returns (byte -> character, the 256 characters in vocabulary order)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    rest = [b for b in range(256) if b not in keep]
    table = {b: chr(b) for b in keep}
    table.update({b: chr(256 + k) for k, b in enumerate(rest)})
    return table, [table[b] for b in keep + rest]


def load():
    with gzip.open(VOCAB, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(l.split()) for l in lines[1:49152 - 256 - 2 + 1]]
    table, chars = byte_table()
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + SPECIAL
    ids = {tok: i for i, tok in enumerate(vocab)}
    ranks = {m: i for i, m in enumerate(merges)}
    return table, ids, ranks


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    text = re.sub(r"\s+", " ", text).strip()
    return text.lower()


def is_letter(c):
    return unicodedata.category(c).startswith("L")


def is_number(c):
    return unicodedata.category(c).startswith("N")


def pieces(text):
    i, n = 0, len(text)
    while i < n:
        special = next((s for s in SPECIAL if text.startswith(s, i)), None)
        contraction = next((s for s in CONTRACTIONS if text.startswith(s, i)), None)
        c = text[i]
        if special:
            j = i + len(special)
        elif contraction:
            j = i + len(contraction)
        elif is_letter(c):
            j = i + 1
            while j < n and is_letter(text[j]):
                j += 1
        elif is_number(c):
            j = i + 1
        elif c.isspace():
            i += 1
            continue
        else:
            # Greedy run of "other" characters: once started it also swallows "'" and '<', as the regex does.
            j = i + 1
            while j < n and not (is_letter(text[j]) or is_number(text[j]) or text[j].isspace()):
                j += 1
        yield text[i:j]
        i = j


def bpe(word, ranks):
    symbols = list(word[:-1]) + [word[-1] + "</w>"]
    while len(symbols) > 1:
        pairs = {(symbols[k], symbols[k + 1]) for k in range(len(symbols) - 1)}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        merged, k = [], 0
        while k < len(symbols):
            if k < len(symbols) - 1 and (symbols[k], symbols[k + 1]) == best:
                merged.append(symbols[k] + symbols[k + 1])
                k += 2
            else:
                merged.append(symbols[k])
                k += 1
        symbols = merged
    return symbols


def encode(text, table, ids, ranks):
    out = []
    for piece in pieces(clean(text)):
        if piece in SPECIAL:
            out.append(ids[piece])
            continue
        mapped = "".join(table[b] for b in piece.encode("utf-8"))
        out.extend(ids[s] for s in bpe(mapped, ranks))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--in", dest="inp", required=True)
    args = ap.parse_args()
    with open(args.inp, encoding="utf-8") as f:
        texts = json.load(f)
    table, ids, ranks = load()
    sys.path.insert(0, HERE)
    import torch
    import st
    st.save(args.out, {str(i): torch.tensor(encode(t, table, ids, ranks), dtype=torch.int32) for i, t in enumerate(texts)})


if __name__ == "__main__":
    main()
