using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Native;

/// <summary>The header against the library and the C compiler: version, struct layouts, C89 and C++ cleanliness.</summary>
public partial class NativeHeaderTests
{
    [Fact]
    public void VersionMatchesTheHeader()
    {
        var header = File.ReadAllText(Path.Combine(NativeBuild.IncludeDir, "bayespfl.h"));
        Assert.Equal(VersionDefine().Match(header).Groups[1].Value, LibBayesPfl.Version());
    }

    [Fact]
    public unsafe void OptionsDefaultsAreTheEngines()
    {
        COptions o;
        Assert.Equal(LibBayesPfl.Ok, LibBayesPfl.OptionsDefault(&o));
        var d = new BayesPfl.Engine.Detection.DetectorOptions();
        Assert.Equal(((uint)sizeof(COptions), 0, 0, d.Samples, d.Seed, 0), (o.StructSize, o.Device, o.Precision, o.Samples, o.Seed, o.TopK));
    }

    /// <summary>The C compiler's sizeof/offsetof of every struct field equal the layout the library and these tests use.</summary>
    [Fact]
    public void StructLayoutsAreTheCCompilers()
    {
        var dir = Repo.TempDir("native-layout");
        var source = Path.Combine(dir, "layout.c");
        File.WriteAllText(source, """
            #include <stddef.h>
            #include <stdio.h>
            #include "bayespfl.h"
            #define F(s, f) printf(#s "." #f "=%u\n", (unsigned)offsetof(s, f))
            int main(void)
            {
                printf("bpfl_options=%u\nbpfl_result=%u\n", (unsigned)sizeof(bpfl_options), (unsigned)sizeof(bpfl_result));
                F(bpfl_options, struct_size); F(bpfl_options, device); F(bpfl_options, precision); F(bpfl_options, samples);
                F(bpfl_options, seed); F(bpfl_options, top_k);
                F(bpfl_result, struct_size); F(bpfl_result, p_img); F(bpfl_result, s_map); F(bpfl_result, top_k);
                F(bpfl_result, map_size); F(bpfl_result, image_width); F(bpfl_result, image_height);
                return 0;
            }
            """);
        var exe = Path.Combine(dir, "layout");
        NativeBuild.CompileC(source, exe, NativeBuild.Get().LibDir);
        var (exit, stdout, stderr) = ChildProcess.Run(exe, [], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, stderr);
        var c = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToDictionary(kv => kv[0], kv => int.Parse(kv[1]));
        var cs = new Dictionary<string, int> { ["bpfl_options"] = Marshal.SizeOf<COptions>(), ["bpfl_result"] = Marshal.SizeOf<CResult>() };
        foreach (var (name, type) in new[] { ("bpfl_options", typeof(COptions)), ("bpfl_result", typeof(CResult)) })
            foreach (var field in type.GetFields())
                cs[$"{name}.{Snake(field.Name)}"] = (int)Marshal.OffsetOf(type, field.Name);
        Assert.Equal(c.OrderBy(kv => kv.Key), cs.OrderBy(kv => kv.Key));
    }

    /// <summary>The header is C89 and C++ as well as C99 (embedders compile it with whatever they have).</summary>
    [Theory]
    [InlineData("cc", "-std=c89")]
    [InlineData("c++", "-std=c++11")]
    public void HeaderCompilesAs(string compiler, string standard)
    {
        var dir = Repo.TempDir("native-header");
        var source = Path.Combine(dir, compiler == "cc" ? "use.c" : "use.cpp");
        File.WriteAllText(source, "#include \"bayespfl.h\"\nint main(void) { bpfl_options o; return bpfl_options_default(&o); }\n");
        var (exit, stdout, stderr) = ChildProcess.Run(compiler,
            [standard, "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-I", NativeBuild.IncludeDir, source], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, $"{compiler} {standard}: {stdout}{stderr}");
    }

    private static string Snake(string pascal) => SnakeBoundary().Replace(pascal, "_$1").ToLowerInvariant();

    [GeneratedRegex("#define BPFL_VERSION \"([^\"]+)\"")]
    private static partial Regex VersionDefine();

    [GeneratedRegex("(?<=.)([A-Z])")]
    private static partial Regex SnakeBoundary();
}
