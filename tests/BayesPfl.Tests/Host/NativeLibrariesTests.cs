using BayesPfl.Host.Interop;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Host;

/// <summary>Which files the resolver tries, for each environment setting. Nothing is loaded here.</summary>
public sealed class NativeLibrariesTests
{
    private static readonly string[] Toolkit = ["/usr/local/cuda/lib64"];

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void DefaultsAreTheSonamesNewestFirst()
    {
        Assert.Equal(["libcuda.so.1"], NativeLibraries.Candidates(NvidiaLibrary.Driver, Env(), [], null));
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so.11"], NativeLibraries.Candidates(NvidiaLibrary.Cublas, Env(), [], null));
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"], NativeLibraries.Candidates(NvidiaLibrary.Nvrtc, Env(), [], null));
    }

    [Fact]
    public void FullPathOverridesAreTheOnlyCandidate()
    {
        var env = Env(("BAYESPFL_LIBCUDA", "/opt/a/libcuda.so"), ("BAYESPFL_LIBCUBLAS", "/opt/b/libcublas.so.12"),
            ("BAYESPFL_LIBNVRTC", "/opt/c/libnvrtc.so.12"), ("BAYESPFL_NVRTC_DIR", "/ignored"));
        Assert.Equal(["/opt/a/libcuda.so"], NativeLibraries.Candidates(NvidiaLibrary.Driver, env, Toolkit, null));
        Assert.Equal(["/opt/b/libcublas.so.12"], NativeLibraries.Candidates(NvidiaLibrary.Cublas, env, Toolkit, null));
        // The full path wins over the folder, and over the repository's copy.
        Assert.Equal(["/opt/c/libnvrtc.so.12"], NativeLibraries.Candidates(NvidiaLibrary.Nvrtc, env, Toolkit, "/repo/.cache"));
    }

    [Fact]
    public void NvrtcDirIsSearchedAloneNewestFirst()
    {
        Assert.Equal(["/n/libnvrtc.so.13", "/n/libnvrtc.so.12", "/n/libnvrtc.so.11.2"],
            NativeLibraries.Candidates(NvidiaLibrary.Nvrtc, Env(("BAYESPFL_NVRTC_DIR", "/n")), Toolkit, "/repo/.cache"));
    }

    [Fact]
    public void ToolkitFoldersThenRepositoryCopyComeAfterTheSystemLoader()
    {
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "/t/libnvrtc.so.13", "/t/libnvrtc.so.12", "/t/libnvrtc.so.11.2",
                "/r/libnvrtc.so.13", "/r/libnvrtc.so.12", "/r/libnvrtc.so.11.2"],
            NativeLibraries.Candidates(NvidiaLibrary.Nvrtc, Env(), ["/t"], "/r"));
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "/t/libcublas.so.13", "/t/libcublas.so.12", "/t/libcublas.so.11"],
            NativeLibraries.Candidates(NvidiaLibrary.Cublas, Env(), ["/t"], "/r"));
        // Never the toolkit's stub libcuda.
        Assert.Equal(["libcuda.so.1"], NativeLibraries.Candidates(NvidiaLibrary.Driver, Env(), ["/t"], "/r"));
    }

    [Fact]
    public void ToolkitFoldersComeFromCudaHomeCudaPathAndTheDefaultWhenTheyExist()
    {
        var home = Repo.TempDir("cuda-home");
        Directory.CreateDirectory(Path.Combine(home, "lib64"));
        var dirs = NativeLibraries.ToolkitDirs(Env(("CUDA_HOME", home), ("CUDA_PATH", "/does/not/exist")));
        Assert.Equal(Path.Combine(home, "lib64"), dirs[0]);
        Assert.DoesNotContain("/does/not/exist/lib64", dirs);
        Assert.Equal(Directory.Exists("/usr/local/cuda/lib64") ? 2 : 1, dirs.Count);
    }

    [Fact]
    public void EmptyVariablesCountAsUnset()
    {
        Assert.Equal(["libcuda.so.1"], NativeLibraries.Candidates(NvidiaLibrary.Driver, Env(("BAYESPFL_LIBCUDA", " ")), [], null));
        Assert.Equal(3, NativeLibraries.Candidates(NvidiaLibrary.Nvrtc, Env(("BAYESPFL_NVRTC_DIR", "")), [], null).Count);
    }

    [Fact]
    public void BuiltinsArePreloadedFromTheCandidatesFolderOnly()
    {
        var dir = Repo.TempDir("nvrtc-dir");
        foreach (var f in new[] { "libnvrtc.so.11.2", "libnvrtc-builtins.so.11.8", "libnvrtc-builtins.so.11.8.89", "libcublas.so.11" })
            File.WriteAllBytes(Path.Combine(dir, f), []);

        Assert.Equal([Path.Combine(dir, "libnvrtc-builtins.so.11.8"), Path.Combine(dir, "libnvrtc-builtins.so.11.8.89")],
            NativeLibraries.BuiltinsToPreload(Path.Combine(dir, "libnvrtc.so.11.2")));
        // A bare soname: the system loader finds the builtins itself.
        Assert.Empty(NativeLibraries.BuiltinsToPreload("libnvrtc.so.12"));
        Assert.Empty(NativeLibraries.BuiltinsToPreload(Path.Combine(dir, "missing", "libnvrtc.so.12")));
        // No NVRTC of that version in the folder: nothing to preload for it.
        Assert.Empty(NativeLibraries.BuiltinsToPreload(Path.Combine(dir, "libnvrtc.so.13")));
    }

    [Fact]
    public void RepositoryCopyIsFoundFromTheTestBinary()
    {
        var expected = Repo.Path(".cache", "nvrtc", "root", "usr", "lib", "x86_64-linux-gnu");
        Assert.Equal(Directory.Exists(expected) ? expected : null, NativeLibraries.RepoNvrtcDir());
    }

    [Fact]
    public void LoaderErrorKeepsDlerrorAndDropsTheRuntimesAdvice()
    {
        const string runtime = "Unable to load shared library 'libcuda.so.1' or one of its dependencies. In order to help diagnose loading problems, " +
                               "consider using a tool like strace.\nlibcuda.so.1: cannot open shared object file: No such file or directory\n";
        Assert.Equal("libcuda.so.1: cannot open shared object file: No such file or directory", NativeLibraries.LoaderError("libcuda.so.1", runtime));
        Assert.Equal("/x/libcuda.so: bad ELF", NativeLibraries.LoaderError("/x/libcuda.so", "bad ELF"));
    }
}
