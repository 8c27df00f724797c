using System.Text;
using System.Text.Json;
using BayesPfl.Engine.Text;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Text;

public class ClipTokenizerTests
{
    private static readonly ClipTokenizer Tok = ClipTokenizer.Default;

    public static readonly string[] MvtecCategories =
        ["bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut", "pill", "screw", "tile", "toothbrush", "transistor", "wood", "zipper"];

    public static readonly string[] VisaCategories =
        ["candle", "capsules", "cashew", "chewinggum", "fryum", "macaroni1", "macaroni2", "pcb1", "pcb2", "pcb3", "pcb4", "pipe_fryum"];

    [Theory]
    [InlineData("metal nut", new[] { 4044, 6491 })]
    [InlineData("printed circuit board", new[] { 7978, 9801, 1972 })]
    [InlineData("pipe fryum", new[] { 10459, 936, 7259 })]
    [InlineData("transistor", new[] { 32236, 17740 })]
    [InlineData("metal15", new[] { 4044, 272, 276 })]
    [InlineData("X", new[] { 343 })]
    public void EncodesTheSpecExamples(string text, int[] expected) => Assert.Equal(expected, Tok.Encode(text));

    [Fact]
    public void TokenizesTheBottlePromptAsInTheSpec()
    {
        var t = Tok.Tokenize(ClassNames.Prompt("bottle"));
        Assert.Equal(77, t.Length);
        Assert.Equal([49406, 343, 5392, 49407], t[..4]);
        Assert.All(t[4..], id => Assert.Equal(0, id));
        Assert.Equal(3, ClipTokenizer.EotIndex(t));
    }

    [Theory]
    [InlineData("macaroni2", "macaroni")]
    [InlineData("PCB3", "printed circuit board")]
    [InlineData("pipe_fryum", "pipe fryum")]
    [InlineData("chewinggum", "chewing gum")]
    [InlineData("metal_nut", "metal nut")]
    [InlineData("Head CT", "head ct")]
    [InlineData("fabric7", "fabric7")]
    public void RenamesCategoriesAsTheSpecSays(string category, string name)
    {
        Assert.Equal(name, ClassNames.PromptName(category));
        Assert.Equal("X " + name, ClassNames.Prompt(category));
    }

    /// <summary>Every MVTec-AD and VisA prompt, pinned (ids produced by tests/reference/clip_bpe.py).</summary>
    [Theory]
    [MemberData(nameof(PinnedPrompts))]
    public void EncodesEveryBenchmarkCategory(string category, int[] nameIds)
    {
        var t = Tok.Tokenize(ClassNames.Prompt(category));
        int[] expected = [49406, 343, .. nameIds, 49407];
        Assert.Equal(expected, t[..expected.Length]);
        Assert.All(t[expected.Length..], id => Assert.Equal(0, id));
        Assert.Equal(expected.Length - 1, ClipTokenizer.EotIndex(t));
    }

    public static TheoryData<string, int[]> PinnedPrompts() => new()
    {
        { "bottle", [5392] },
        { "cable", [7925] },
        { "capsule", [20627] },
        { "carpet", [6922] },
        { "grid", [9882] },
        { "hazelnut", [35816] },
        { "leather", [5862] },
        { "metal_nut", [4044, 6491] },
        { "pill", [19226] },
        { "screw", [14225] },
        { "tile", [8227] },
        { "toothbrush", [36841] },
        { "transistor", [32236, 17740] },
        { "wood", [1704] },
        { "zipper", [33670] },
        { "candle", [12674] },
        { "capsules", [32870] },
        { "cashew", [39531] },
        { "chewinggum", [31486, 11235] },
        { "fryum", [936, 7259] },
        { "macaroni1", [41824] },
        { "macaroni2", [41824] },
        { "pcb1", [7978, 9801, 1972] },
        { "pcb2", [7978, 9801, 1972] },
        { "pcb3", [7978, 9801, 1972] },
        { "pcb4", [7978, 9801, 1972] },
        { "pipe_fryum", [10459, 936, 7259] },
    };

    [Fact]
    public void MatchesTheReferenceBpeOnCategoriesAndHostileStrings()
    {
        var texts = new List<string>();
        texts.AddRange(MvtecCategories.Concat(VisaCategories).Select(ClassNames.Prompt));
        texts.AddRange(HostileStrings);
        texts.AddRange(RandomStrings(new Random(1234), 300));
        var json = Path.Combine(Repo.TempDir("bpe"), "texts.json");
        File.WriteAllText(json, JsonSerializer.Serialize(texts), new UTF8Encoding(false));
        using var oracle = Oracle.Run("clip_bpe.py", "--in", json);
        var mismatches = new StringBuilder();
        var bad = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            var expected = oracle.ReadInts(i.ToString()).Select(x => (int)x).ToArray();
            var actual = Tok.Encode(texts[i]);
            if (expected.SequenceEqual(actual)) continue;
            if (bad++ < 5)
                mismatches.Append($"  \"{texts[i]}\": got [{string.Join(' ', actual)}], reference [{string.Join(' ', expected)}]\n");
        }
        Assert.True(bad == 0, $"{bad}/{texts.Count} strings tokenised differently from clip_bpe.py:\n{mismatches}");
    }

    [Fact]
    public void RejectsAnOverlongPromptNamingIt()
    {
        var text = "X " + string.Join(' ', Enumerable.Repeat("printed circuit board", 25));
        var e = Assert.Throws<ArgumentException>(() => Tok.Tokenize(text));
        Assert.Contains("printed circuit board printed", e.Message);
        Assert.Contains("77", e.Message);
        // 75 single-token words fill the context exactly; one more does not fit.
        Assert.Equal(77, Tok.Tokenize(string.Join(' ', Enumerable.Repeat("x", 75))).Length);
        Assert.Throws<ArgumentException>(() => Tok.Tokenize(string.Join(' ', Enumerable.Repeat("x", 76))));
    }

    [Fact]
    public void EncodesConcurrentlyWithTheSameResult()
    {
        var texts = RandomStrings(new Random(99), 200).ToArray();
        var serial = texts.Select(Tok.Encode).ToArray();
        var parallel = new int[texts.Length][];
        Parallel.For(0, texts.Length * 4, i => parallel[i % texts.Length] = Tok.Encode(texts[i % texts.Length]));
        for (var i = 0; i < texts.Length; i++) Assert.Equal(serial[i], parallel[i]);
    }

    [Fact]
    public void EotIndexIsTheFirstHighestId()
    {
        Assert.Equal(5, ClipTokenizer.EotIndex([49406, 343, 4044, 6491, 1, 49407, 0, 0]));
        Assert.Equal(1, ClipTokenizer.EotIndex([49406, 49407, 5, 49407]));
        Assert.Throws<ArgumentException>(() => ClipTokenizer.EotIndex([49406, 343, 0]));
    }

    [Fact]
    public void CleansWhitespaceCaseAndHtml()
    {
        Assert.Equal(Tok.Encode("metal nut"), Tok.Encode("  METAL\t\n\u00a0 Nut \u3000"));
        Assert.Equal(Tok.Encode("a & b"), Tok.Encode("a &amp;amp; b"));
        Assert.Equal([ClipTokenizer.EndOfTextId], Tok.Encode("<|endoftext|>"));
        Assert.Empty(Tok.Encode(" \t "));
    }

    private static readonly string[] HostileStrings =
    [
        "", " ", "don't", "DON'T STOP", "we'll've it's", "o''s 'S 'll'd", "rock'n'roll", "3.14159", "1,000,000 $",
        "x<|endoftext|>y", "<|startoftext|>a<|endoftext|>", "a<|endoftext|", "!!!???...", "a--b__c", "e-mail@host.com",
        "café naïve Æsir straße", "ΑΒΓ αβγ", "日本語のテキスト", "한국어", "emoji 😀👍🏽 done", "𝐀𝐁𝐂 bold", "Ⅻ ½ ²³ ٣",
        "&lt;b&gt;bold&lt;/b&gt;", "&amp;lt;", "&#65;&#x42;", "&quot;q&quot; &apos;", "tab\tnew\nline\r\n", "\u001cfs\u001fus",
        "İstanbul", "zero\u200bwidth", "combining e\u0301", "aaaaaaaaaaaaaaaaaaaa", "pcb1 pcb2", "metal_nut pipe_fryum",
        "#hashtag @user", "(parens) [brackets] {braces}", "a/b\\c", "ｆｕｌｌｗｉｄｔｈ", "\u00ad soft hyphen",
    ];

    /// <summary>Random mixtures of ASCII words, digits, punctuation, apostrophes, accents, CJK and emoji.</summary>
    private static IEnumerable<string> RandomStrings(Random rng, int count)
    {
        string[] atoms =
        [
            "a", "e", "th", "ing", "ion", "er", "s", "x", "q", "z", "an", "de", "re", "ly", "ment", "'", "'s", "'ll",
            " ", " ", " ", "  ", "0", "1", "7", "42", ".", ",", "!", "?", "-", "_", "/", "&", "&amp;", "<", ">", "|",
            "é", "ü", "ß", "ø", "Ж", "λ", "中", "文", "😀", "\t", "A", "B", "Q", "é", "ﬁ", "№", "€", "™",
        ];
        for (var i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            var n = rng.Next(1, 12);
            for (var k = 0; k < n; k++) sb.Append(atoms[rng.Next(atoms.Length)]);
            yield return sb.ToString();
        }
    }
}
