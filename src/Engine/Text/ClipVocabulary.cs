using System.IO.Compression;

namespace BayesPfl.Engine.Text;

/// <summary>
/// CLIP's BPE vocabulary, rebuilt from the embedded merges file (bpe_simple_vocab_16e6.txt.gz) the way CLIP
/// builds it: 256 byte symbols, the same with "&lt;/w&gt;", one symbol per merge, then the two special tokens.
/// </summary>
internal sealed class ClipVocabulary
{
    public const string ResourceName = "clip/bpe_simple_vocab_16e6.txt.gz";
    public const string EndOfWord = "</w>";
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";

    /// <summary>CLIP keeps 49152 - 256 - 2 merges: vocabulary size 49408 = 2*256 + merges + 2 specials.</summary>
    public const int MergeCount = 49152 - 256 - 2;

    /// <summary>Byte value -> the printable character that stands for it inside BPE symbols.</summary>
    public char[] ByteToChar { get; }

    /// <summary>Symbol -> id, ids 0..49407.</summary>
    public Dictionary<string, int> Ids { get; }

    /// <summary>Merge lines "left right" in rank order.</summary>
    public string[] Merges { get; }

    private ClipVocabulary(char[] byteToChar, Dictionary<string, int> ids, string[] merges)
    {
        ByteToChar = byteToChar;
        Ids = ids;
        Merges = merges;
    }

    public static ClipVocabulary Load()
    {
        var merges = ReadMerges();
        var (byteToChar, order) = ByteTable();
        var symbols = new List<string>(2 * 256 + merges.Length + 2);
        symbols.AddRange(order.Select(c => c.ToString()));
        symbols.AddRange(order.Select(c => c + EndOfWord));
        foreach (var m in merges)
            symbols.Add(m.Replace(" ", "", StringComparison.Ordinal));
        symbols.Add(StartOfText);
        symbols.Add(EndOfText);
        var ids = new Dictionary<string, int>(symbols.Count, StringComparer.Ordinal);
        for (var i = 0; i < symbols.Count; i++)
            if (!ids.TryAdd(symbols[i], i))
                throw new InvalidDataException($"{ResourceName}: symbol '{symbols[i]}' occurs twice (ids {ids[symbols[i]]} and {i})");
        return new ClipVocabulary(byteToChar, ids, merges);
    }

    /// <summary>
    /// GPT-2/CLIP byte table: the 188 printable byte values ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for
    /// themselves, the other 68 take U+0100, U+0101, ... in increasing byte order. The vocabulary lists the
    /// printable ones first, then the others (the insertion order of CLIP's dict), hence the second result.
    /// </summary>
    private static (char[] ByteToChar, char[] VocabOrder) ByteTable()
    {
        static bool Printable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
        var map = new char[256];
        var order = new List<char>(256);
        for (var b = 0; b < 256; b++)
            if (Printable(b)) { map[b] = (char)b; order.Add((char)b); }
        var next = 256;
        for (var b = 0; b < 256; b++)
            if (!Printable(b)) { map[b] = (char)next++; order.Add(map[b]); }
        return (map, order.ToArray());
    }

    private static string[] ReadMerges()
    {
        using var raw = typeof(ClipVocabulary).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource '{ResourceName}' is missing from {typeof(ClipVocabulary).Assembly.GetName().Name}");
        using var gz = new GZipStream(raw, CompressionMode.Decompress);
        using var reader = new StreamReader(gz, System.Text.Encoding.UTF8);
        reader.ReadLine(); // "#version: 0.2" header
        var merges = new string[MergeCount];
        for (var i = 0; i < MergeCount; i++)
        {
            var line = reader.ReadLine();
            if (line is null || line.Split(' ').Length != 2)
                throw new InvalidDataException($"{ResourceName}: merge line {i + 2} is {(line is null ? "missing" : $"'{line}', not two symbols")}");
            merges[i] = line;
        }
        return merges;
    }
}
