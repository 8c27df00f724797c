using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Weights.Torch;

/// <summary>
/// The checkpoints tests/reference/torch_archives.py writes (a tiny CLIP in every format, plus hostile files) and
/// its expectations; generated once per test run because the oracle takes seconds.
/// </summary>
public static class TorchArchiveFiles
{
    private static readonly Lazy<(string Dir, SafeTensorsFile Expect)> Files = new(() =>
    {
        var dir = Repo.TempDir("torch-archives");
        return (dir, Oracle.Run("torch_archives.py", "--dir", dir));
    });

    public static string File(string name) => Path.Combine(Files.Value.Dir, name);

    public static SafeTensorsFile Expect => Files.Value.Expect;

    /// <summary>Names under "GROUP/" in the expectation file, without the group.</summary>
    public static IEnumerable<string> Names(string group) =>
        Expect.Entries.Select(e => e.Name).Where(n => n.StartsWith(group + "/", StringComparison.Ordinal)).Select(n => n[(group.Length + 1)..]);

    public static float[] Values(string group, string name) => Expect.ReadFloats(group + "/" + name);

    public static void AssertBitExact(string what, float[] actual, float[] expected)
    {
        Xunit.Assert.True(actual.Length == expected.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (var i = 0; i < actual.Length; i++)
            Xunit.Assert.True(BitConverter.SingleToInt32Bits(actual[i]) == BitConverter.SingleToInt32Bits(expected[i]),
                $"{what}: [{i}] is {actual[i]:G9}, expected {expected[i]:G9}");
    }
}
