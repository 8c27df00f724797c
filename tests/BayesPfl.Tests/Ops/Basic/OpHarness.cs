using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;
using BayesPfl.KernelEmu;
using BayesPfl.Tests.Infra;

namespace BayesPfl.Tests.Ops.Basic;

/// <summary>What the op does with a tensor: reads it, overwrites it, or accumulates into it.</summary>
public enum Role
{
    Input,
    Output,
    Accumulate,
}

/// <summary>A tensor of an op under test; inputs and accumulators start uniform in [Lo, Hi), outputs start as NaN.</summary>
public sealed record Spec(string Name, int[] Shape, Role Role = Role.Input, float Lo = -1f, float Hi = 1f);

/// <summary>
/// Runs one op on two backends from the same initial state and compares every tensor the op writes.
/// Outputs start as NaN, so an element the op forgets to write fails the finiteness check; accumulators
/// start random, so overwriting instead of accumulating fails the comparison.
/// </summary>
public static class OpHarness
{
    public delegate void Op(IBackend backend, IReadOnlyDictionary<string, Tensor> t);

    public static Dictionary<string, float[]> Initial(IEnumerable<Spec> specs, int seed)
    {
        var r = new Random(seed);
        var init = new Dictionary<string, float[]>();
        foreach (var s in specs)
        {
            var v = new float[new Shape(s.Shape).Length];
            for (var i = 0; i < v.Length; i++) v[i] = s.Role == Role.Output ? float.NaN : s.Lo + (s.Hi - s.Lo) * r.NextSingle();
            init[s.Name] = v;
        }
        return init;
    }

    /// <summary>Uploads the initial state, runs op (then afterOp), and returns what the op wrote.</summary>
    public static Dictionary<string, float[]> Run(IBackend backend, IReadOnlyList<Spec> specs, Dictionary<string, float[]> init, Op op, Action? afterOp = null)
    {
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var s in specs)
            {
                var t = backend.Allocate(new Shape(s.Shape), s.Name);
                tensors[s.Name] = t;
                backend.Upload(t, init[s.Name]);
            }
            op(backend, tensors);
            backend.Synchronize();
            afterOp?.Invoke();
            var result = new Dictionary<string, float[]>();
            foreach (var s in specs.Where(s => s.Role != Role.Input))
            {
                var v = new float[tensors[s.Name].Length];
                backend.Download(tensors[s.Name], v);
                result[s.Name] = v;
            }
            return result;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// The CUDA launchers on <paramref name="gpu"/> against the CPU reference: guard bytes intact after each call
    /// (emulator), every written tensor finite and within tolerance, and a rerun bitwise equal to the first run.
    /// </summary>
    public static void GpuMatchesCpu(CudaBackend gpu, string op, Spec[] specs, Op run, double atol, double rtol, int seed = 1)
    {
        var init = Initial(specs, seed);
        Dictionary<string, float[]> expected;
        using (var cpu = new CpuBackend()) expected = Run(cpu, specs, init, run);
        var guards = gpu.Gpu is EmuGpu emu ? emu.CheckGuards : (Action?)null;
        var first = Run(gpu, specs, init, run, guards);
        var second = Run(gpu, specs, init, run, guards);
        foreach (var (name, want) in expected)
        {
            TensorAssert.AllFinite($"{op} {name}", first[name]);
            TensorAssert.Close($"{op} {name} ({gpu.Gpu.Description} vs cpu)", first[name], want, atol, rtol);
            TensorAssert.BitwiseEqual($"{op} {name}", first[name], second[name]);
        }
    }

    public static void EmulatedMatchesCpu(string op, Spec[] specs, Op run, double atol, double rtol)
    {
        using var gpu = TestBackends.Emulated();
        try
        {
            GpuMatchesCpu(gpu, op, specs, run, atol, rtol);
        }
        finally
        {
            gpu.Gpu.Dispose();
        }
    }

    /// <summary>A CPU tensor holding <paramref name="data"/>.</summary>
    public static Tensor Put(IBackend b, string name, int[] shape, float[] data)
    {
        var t = b.Allocate(new Shape(shape), name);
        b.Upload(t, data);
        return t;
    }

    public static float[] Get(IBackend b, Tensor t)
    {
        var v = new float[t.Length];
        b.Download(t, v);
        return v;
    }
}

/// <summary>The real-GPU variants: they need a CUDA device, which only the GPU machine has.</summary>
public static class RealGpu
{
    public static CudaBackend BackendOrSkip()
    {
        var (backend, reason) = TestBackends.RealGpu();
        if (backend is null) Xunit.Assert.Skip(reason);
        return backend;
    }
}
