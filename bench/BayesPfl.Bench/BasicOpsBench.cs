using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BenchmarkDotNet.Attributes;

namespace BayesPfl.Bench;

/// <summary>
/// The CPU backend's basic ops at ViT-L/14 shapes (518 px: 1370 tokens, width 1024, MLP 4096). GEMM throughput
/// is 2·M·K·N / time; the MLP up-projection (1370×1024×4096, 11.5 GFLOP) is the yardstick.
/// </summary>
[MemoryDiagnoser]
public class BasicOpsBench : IDisposable
{
    private readonly CpuBackend cpu = new();
    private Tensor x = null!, w = null!, b = null!, y = null!, dx = null!, dw = null!, h = null!, hOut = null!, gamma = null!, mean = null!, rstd = null!, lnOut = null!;

    [Params(1370)]
    public int M { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const int k = 1024, n = 4096;
        x = Random(new Shape(M, k), "x", 1);
        w = Random(new Shape(n, k), "w", 2);
        b = Random(new Shape(n), "b", 3);
        y = cpu.Allocate(new Shape(M, n), "y");
        dx = cpu.Allocate(new Shape(M, k), "dx");
        dw = cpu.Allocate(new Shape(n, k), "dw");
        h = Random(new Shape(M, n), "h", 4);
        hOut = cpu.Allocate(new Shape(M, n), "gelu");
        gamma = Random(new Shape(k), "gamma", 5);
        mean = cpu.Allocate(new Shape(M), "mean");
        rstd = cpu.Allocate(new Shape(M), "rstd");
        lnOut = cpu.Allocate(new Shape(M, k), "ln");
    }

    [Benchmark(Description = "Linear 1370x1024->4096")]
    public void Linear() => cpu.Linear(y, x, w, b);

    [Benchmark(Description = "LinearBackwardInput 1370x4096->1024")]
    public void LinearBackwardInput() => cpu.LinearBackwardInput(dx, y, w);

    [Benchmark(Description = "LinearBackwardWeight 4096x1024 over 1370 rows")]
    public void LinearBackwardWeight() => cpu.LinearBackwardWeight(dw, b, y, x);

    [Benchmark(Description = "exact GELU 1370x4096")]
    public void Gelu() => cpu.Gelu(hOut, h, GeluKind.Erf);

    [Benchmark(Description = "LayerNorm 1370x1024")]
    public void LayerNorm() => cpu.LayerNorm(lnOut, mean, rstd, x, gamma, gamma, 1e-5f);

    public void Dispose()
    {
        cpu.Dispose();
        GC.SuppressFinalize(this);
    }

    private Tensor Random(Shape s, string name, int seed)
    {
        var r = new Random(seed);
        var v = new float[s.Length];
        for (var i = 0; i < v.Length; i++) v[i] = 2 * r.NextSingle() - 1;
        var t = cpu.Allocate(s, name);
        cpu.Upload(t, v);
        return t;
    }
}
