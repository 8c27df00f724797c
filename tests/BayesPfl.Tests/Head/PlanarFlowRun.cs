using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>
/// One PlanarFlow forward on a backend: the uploaded inputs and the outputs (zK, logdet, saved a), kept alive so
/// that the backward tests can run PlanarFlowBackward on the same tensors. u, w, b hold p = 1 (shared) or R sets.
/// </summary>
internal sealed class PlanarFlowRun : IDisposable
{
    public PlanarFlowRun(IBackend be, float[] z0, float[] u, float[] w, float[] b, int samples, int p, int steps, int dim)
    {
        Z0 = Put(be, "z0", z0, samples, dim);
        U = Put(be, "u", u, p, steps, dim);
        W = Put(be, "w", w, p, steps, dim);
        B = Put(be, "b", b, p, steps);
        ZK = be.Allocate(new Shape(samples, dim), "zK");
        LogDet = be.Allocate(new Shape(samples), "logdet");
        A = be.Allocate(new Shape(samples, steps), "a");
        be.PlanarFlow(ZK, LogDet, A, Z0, U, W, B);
    }

    public Tensor Z0 { get; }

    public Tensor U { get; }

    public Tensor W { get; }

    public Tensor B { get; }

    public Tensor ZK { get; }

    public Tensor LogDet { get; }

    public Tensor A { get; }

    public void Dispose()
    {
        foreach (var t in new[] { Z0, U, W, B, ZK, LogDet, A }) t.Dispose();
    }
}
