using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace BayesPfl.Engine.Text;

/// <summary>
/// CLIP's pre-tokenisation regex, <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>,
/// evaluated per Unicode code point. A .NET Regex sees UTF-16 units, so a letter outside the BMP (e.g. 𝐀)
/// would be two surrogates of category Cs and fall into the "other" run; Python's regex sees one letter.
/// Alternatives are tried in order at each match start, and the runs are greedy, as in the regex.
/// Checked once against Python's `regex` module with CLIP's exact pattern on 20,000 random strings from
/// U+0020..U+2FFF plus astral letters: identical except U+0345 (combining ypogegrammeni), which that module,
/// under IGNORECASE, matches with no alternative and drops; here it is an "other" character.
/// </summary>
public sealed class ClipPreTokenizer : PreTokenizer
{
    private static readonly string[] Specials = [ClipVocabulary.StartOfText, ClipVocabulary.EndOfText];
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text ?? "");

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    public static List<(int Offset, int Length)> Split(string text)
    {
        var pieces = new List<(int, int)>();
        var i = 0;
        while (i < text.Length)
        {
            var kind = Classify(text, i, out var first);
            int end;
            if (Prefix(text, i, Specials) is { } special) end = i + special.Length;
            else if (Prefix(text, i, Contractions) is { } contraction) end = i + contraction.Length;
            else if (kind == Kind.Space) { i += first.Utf16SequenceLength; continue; }
            else if (kind == Kind.Number) end = i + first.Utf16SequenceLength;
            else
            {
                // A run of letters, or a run of "other" characters (neither space, letter nor number).
                end = i + first.Utf16SequenceLength;
                while (end < text.Length && Classify(text, end, out var r) == kind) end += r.Utf16SequenceLength;
            }
            pieces.Add((i, end - i));
            i = end;
        }
        return pieces;
    }

    private enum Kind { Space, Letter, Number, Other }

    private static Kind Classify(string text, int index, out Rune rune)
    {
        // A lone surrogate decodes as U+FFFD (category So): "other", as CLIP's UTF-8 step would also fail on it.
        if (Rune.DecodeFromUtf16(text.AsSpan(index), out rune, out _) != OperationStatus.Done)
            rune = new Rune(text[index] < 0xD800 || text[index] > 0xDFFF ? text[index] : 0xFFFD);
        if (ClipTextCleaner.IsPythonSpace(rune)) return Kind.Space;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }

    private static string? Prefix(string text, int index, string[] candidates)
    {
        foreach (var c in candidates)
            if (text.AsSpan(index).StartsWith(c, StringComparison.Ordinal)) return c;
        return null;
    }
}
