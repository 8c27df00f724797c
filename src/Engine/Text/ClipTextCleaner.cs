using System.Net;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace BayesPfl.Engine.Text;

/// <summary>
/// CLIP's text clean-up before BPE: HTML-unescape twice, collapse whitespace runs to one space, strip,
/// lower-case. Whitespace and lower-casing follow Python's str semantics (CLIP is Python), not .NET's.
/// </summary>
/// <remarks>
/// Not reproduced, on purpose or for lack of a library:
/// * ftfy.fix_text (CLIP runs it first; no .NET port exists). With its defaults it repairs mojibake
///   ("cafÃ©" -> "café"), straightens curly quotes, expands Latin ligatures ("ﬁ" -> "fi"), folds full-width
///   letters to ASCII, removes terminal escapes and most control characters, normalises line breaks, and
///   finally applies Unicode NFC. Plain text already in NFC with straight quotes (all class names and
///   prompts of this project) passes through ftfy unchanged, so its ids are exact; other text may differ.
/// * Python's html.unescape knows all HTML5 named references and accepts some without ';' ("&amp" -> "&");
///   WebUtility.HtmlDecode knows the HTML 4 set and needs the ';'. Numeric references and the common named
///   ones (&amp; &lt; &gt; &quot; &apos; &nbsp; ...) agree.
/// * Python lower-cases a final capital sigma to 'ς'; here it becomes 'σ'.
/// </remarks>
public sealed class ClipTextCleaner : Normalizer
{
    public override string Normalize(string original) => Normalize(original.AsSpan());

    public override string Normalize(ReadOnlySpan<char> original)
    {
        var text = WebUtility.HtmlDecode(WebUtility.HtmlDecode(original.ToString()));
        var sb = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsPythonSpace(rune))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }
            if (pendingSpace) sb.Append(' ');
            pendingSpace = false;
            AppendPythonLower(sb, rune);
        }
        return sb.ToString();
    }

    /// <summary>Python's str.isspace(): bidirectional class WS/B/S or category Zs. Unlike char.IsWhiteSpace
    /// it includes the separators U+001C..U+001F.</summary>
    public static bool IsPythonSpace(Rune r) => r.Value switch
    {
        >= 0x09 and <= 0x0D or >= 0x1C and <= 0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>Python's full lower-case mapping: simple mapping plus the one unconditional multi-character
    /// rule (U+0130 'İ' -> "i̇").</summary>
    private static void AppendPythonLower(StringBuilder sb, Rune r)
    {
        if (r.Value == 0x130)
        {
            sb.Append("i\u0307");
            return;
        }
        var lower = Rune.ToLowerInvariant(r);
        Span<char> buf = stackalloc char[2];
        sb.Append(buf[..lower.EncodeToUtf16(buf)]);
    }
}
