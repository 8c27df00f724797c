using BayesPfl.Host;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Host;

public sealed class KernelCacheTests
{
    private readonly string dir = Repo.TempDir("kernel-cache");

    [Fact]
    public void SecondCompileIsAHitWithTheSameImage()
    {
        ProbeKernels.RequireNvrtc();
        var first = new KernelCompiler(ProbeKernels.With(), cacheDirectory: dir).Compile(ProbeKernels.File, 80);
        // A fresh compiler: the hit must come from disk, not from memory.
        var second = new KernelCompiler(ProbeKernels.With(), cacheDirectory: dir).Compile(ProbeKernels.File, 80);

        Assert.Equal(KernelCacheOutcome.Compiled, first.Cache);
        Assert.Equal(KernelCacheOutcome.Hit, second.Cache);
        Assert.Equal(first.Image, second.Image);
        Assert.Equal(first.CacheKey, second.CacheKey);
        Assert.Single(Directory.GetFiles(dir));
    }

    [Fact]
    public void KeyChangesWithOptionsArchAndHeaders()
    {
        ProbeKernels.RequireNvrtc();
        var baseKey = new KernelCompiler(ProbeKernels.With(), cacheDirectory: dir).CacheKey(ProbeKernels.File, 90);

        var withOption = new KernelCompiler(ProbeKernels.With(), ["--use_fast_math"], dir).CacheKey(ProbeKernels.File, 90);
        var otherArch = new KernelCompiler(ProbeKernels.With(), cacheDirectory: dir).CacheKey(ProbeKernels.File, 80);
        // A header the file does not even include still changes the key: every header of the set is hashed.
        var extraHeader = new KernelCompiler(ProbeKernels.With(("unused.cuh", "#pragma once\n")), cacheDirectory: dir).CacheKey(ProbeKernels.File, 90);
        var editedCommon = new KernelCompiler(ProbeKernels.With(("common.cuh", "// edited\n")), cacheDirectory: dir).CacheKey(ProbeKernels.File, 90);
        var otherSource = new KernelCompiler(ProbeKernels.With((ProbeKernels.File, ProbeKernels.Source + "\n")), cacheDirectory: dir).CacheKey(ProbeKernels.File, 90);

        string[] keys = [baseKey, withOption, otherArch, extraHeader, editedCommon, otherSource];
        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Equal(baseKey, new KernelCompiler(ProbeKernels.With(), cacheDirectory: dir).CacheKey(ProbeKernels.File, 90));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("empty")]
    public void CorruptEntryIsRecompiledAndReplaced(string damage)
    {
        ProbeKernels.RequireNvrtc();
        var compiler = new KernelCompiler(ProbeKernels.With(), cacheDirectory: dir);
        var good = compiler.Compile(ProbeKernels.File, 80);
        var path = Directory.GetFiles(dir).Single();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "flip" => [.. bytes[..^1], (byte)(bytes[^1] ^ 0x40)],
            "truncate" => bytes[..(bytes.Length / 2)],
            _ => [],
        });

        var again = compiler.Compile(ProbeKernels.File, 80);
        var third = compiler.Compile(ProbeKernels.File, 80);

        Assert.Equal(KernelCacheOutcome.RecompiledCorrupt, again.Cache);
        Assert.Equal(good.Image, again.Image);
        Assert.Equal(KernelCacheOutcome.Hit, third.Cache);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void WritesLeaveNoTemporaryFiles()
    {
        ProbeKernels.RequireNvrtc();
        new KernelCompiler(ProbeKernels.With(), cacheDirectory: dir).CompileAll([80, 90]);
        Assert.All(Directory.GetFiles(dir), f => Assert.EndsWith(".kbin", f));
        Assert.Equal(2, Directory.GetFiles(dir).Length);
    }

    [Fact]
    public void TargetIsCubinWhenKnownElsePtxForTheNewestArchBelow()
    {
        int[] supported = [75, 80, 86, 90];
        Assert.Equal(("sm_90", true), KernelCompiler.Target(90, supported));
        Assert.Equal(("compute_90", false), KernelCompiler.Target(120, supported));
        Assert.Equal(("compute_86", false), KernelCompiler.Target(89, supported));
        Assert.Throws<NotSupportedException>(() => KernelCompiler.Target(70, supported));
    }
}
