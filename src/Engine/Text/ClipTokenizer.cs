using Microsoft.ML.Tokenizers;

namespace BayesPfl.Engine.Text;

/// <summary>
/// CLIP's byte-level BPE tokenizer (spec §4.2) on top of Microsoft.ML.Tokenizers' BpeTokenizer: our
/// <see cref="ClipTextCleaner"/> as its normalizer, our <see cref="ClipPreTokenizer"/> as its pre-tokenizer,
/// the library's byte-level mode (UTF-8 bytes through the GPT-2 byte table, which CLIP shares), end-of-word
/// suffix "&lt;/w&gt;" on each piece's last symbol, and rank-ordered merges. Thread-safe after construction.
/// </summary>
public sealed class ClipTokenizer
{
    public const int StartOfTextId = 49406;
    public const int EndOfTextId = 49407;
    public const int PadId = 0;
    public const int DefaultContextLength = 77;

    private static readonly Lazy<ClipTokenizer> Shared = new(() => new ClipTokenizer());

    private readonly BpeTokenizer bpe;

    /// <summary>The tokenizer over the embedded CLIP vocabulary (built once, ~50k merges).</summary>
    public static ClipTokenizer Default => Shared.Value;

    private ClipTokenizer()
    {
        var vocab = ClipVocabulary.Load();
        var specials = new Dictionary<string, int>
        {
            [ClipVocabulary.StartOfText] = StartOfTextId,
            [ClipVocabulary.EndOfText] = EndOfTextId,
        };
        bpe = BpeTokenizer.Create(new BpeOptions(vocab.Ids)
        {
            Merges = vocab.Merges,
            EndOfWordSuffix = ClipVocabulary.EndOfWord,
            ByteLevel = true,
            SpecialTokens = specials,
            Normalizer = new ClipTextCleaner(),
            PreTokenizer = new ClipPreTokenizer(),
        });
    }

    /// <summary>BPE ids of the cleaned text, without start/end tokens.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. bpe.EncodeToIds(text)];
    }

    /// <summary>
    /// [SOT] ids [EOT] padded with zeros to <paramref name="contextLength"/> (CLIP's clip.tokenize). Throws
    /// when the text does not fit, as CLIP does without truncation.
    /// </summary>
    public int[] Tokenize(string text, int contextLength = DefaultContextLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var ids = Encode(text);
        if (ids.Length + 2 > contextLength)
            throw new ArgumentException($"text \"{text}\" is {ids.Length + 2} tokens with start/end, longer than the context length {contextLength}", nameof(text));
        var tokens = new int[contextLength];
        tokens[0] = StartOfTextId;
        ids.CopyTo(tokens, 1);
        tokens[ids.Length + 1] = EndOfTextId;
        return tokens;
    }

    /// <summary>Position of the end-of-text token: CLIP takes argmax(tokens), the first highest id.</summary>
    public static int EotIndex(ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty) throw new ArgumentException("empty token sequence", nameof(tokens));
        var best = 0;
        for (var i = 1; i < tokens.Length; i++)
            if (tokens[i] > tokens[best]) best = i;
        if (tokens[best] != EndOfTextId)
            throw new ArgumentException($"token sequence has no end-of-text token ({EndOfTextId}); its largest id is {tokens[best]} at {best}", nameof(tokens));
        return best;
    }
}
