using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Planning;

/// <summary>
/// A backend that runs nothing and only counts: every <see cref="Allocate"/> adds the tensor's bytes to the live
/// total, disposing it subtracts them, and <see cref="PeakBytes"/> is the high-water mark. Every engine buffer is
/// a tensor allocated through the backend, so running a model step on this backend measures the device memory the
/// engine's buffer plan needs, at any size, in seconds, without a GPU. Ops do nothing (shape checks live in the
/// model classes and the real backends); downloads return ones, finite inputs for the host-side loss arithmetic
/// (whose values are then meaningless).
/// </summary>
public sealed class PlanningBackend : IBackend
{
    private readonly Dictionary<string, long> byName = new(StringComparer.Ordinal);
    private readonly Scratch bf16Input, attentionScores, attentionProbs;

    public PlanningBackend()
    {
        bf16Input = Scratch.Bf16LinearInput(this);
        attentionScores = Scratch.AttentionScores(this);
        attentionProbs = Scratch.AttentionProbabilities(this);
    }

    public string Name => "plan";

    public long LiveBytes { get; private set; }

    public long PeakBytes { get; private set; }

    /// <summary>Live bytes by tensor name when the peak was reached, largest first.</summary>
    public IReadOnlyList<(string Name, long Bytes)> AtPeak { get; private set; } = [];

    public Tensor Allocate(Shape shape, string name, DType dtype = DType.F32)
    {
        var t = new PlanTensor(this, name, shape, dtype, owner: true);
        Track(name, t.Bytes);
        return t;
    }

    private void Track(string name, long bytes)
    {
        LiveBytes += bytes;
        byName[name] = byName.GetValueOrDefault(name) + bytes;
        if (LiveBytes <= PeakBytes) return;
        PeakBytes = LiveBytes;
        AtPeak = [.. byName.Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value).Select(kv => (kv.Key, kv.Value))];
    }

    public void Download(Tensor src, Span<float> dst) => dst.Fill(1f);

    public void Upload(Tensor dst, ReadOnlySpan<float> src) { }
    public void Copy(Tensor dst, Tensor src) { }
    public void Zero(Tensor t) { }
    public void Cast(Tensor dst, Tensor src) { }
    public void Synchronize() { }

    /// <summary>
    /// Runs nothing, but a Linear with BF16 weights and an F32 input makes the CUDA backend grow its bf16 copy of the
    /// input (CudaBackend.Bf16Operand); the plan grows the same scratch so that the peak counts it.
    /// </summary>
    public void Linear(Tensor y, Tensor x, Tensor w, Tensor? bias)
    {
        if (w.DType == DType.BF16 && x.DType != DType.BF16) bf16Input.AtLeast(x.Length);
    }

    public void LinearBackwardInput(Tensor dx, Tensor dy, Tensor w) { }
    public void LinearBackwardWeight(Tensor dw, Tensor? dbias, Tensor dy, Tensor x) { }
    public void BatchedMatMul(Tensor c, Tensor a, Tensor bm, bool transposeB) { }
    public void LayerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps) { }
    public void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma) { }
    public void Gelu(Tensor y, Tensor x, GeluKind kind) { }
    public void GeluBackward(Tensor dx, Tensor dy, Tensor x, GeluKind kind) { }
    public void Add(Tensor y, Tensor a, Tensor b) { }
    public void Softmax(Tensor y, Tensor x) { }
    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y) { }
    public void L2Normalize(Tensor y, Tensor norm, Tensor x) { }
    public void L2NormalizeBackward(Tensor dx, Tensor dy, Tensor y, Tensor norm) { }
    public void Softplus(Tensor y, Tensor x) { }
    public void SoftplusBackward(Tensor dx, Tensor dy, Tensor x) { }
    public void Tanh(Tensor y, Tensor x) { }
    public void TanhBackward(Tensor dx, Tensor dy, Tensor y) { }

    /// <summary>
    /// Runs nothing, but bf16 attention makes the CUDA backend grow its score scratch (CudaBackend.AttentionBf16.cs,
    /// S fp32 and P bf16 per chunk); the plan grows the same scratch so that the peak counts it.
    /// </summary>
    public void Attention(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, int heads, bool causal, float scale)
    {
        if (q.DType != DType.BF16) return;
        AttentionReference.Dims n = new(q.Shape[0], q.Shape[1], k.Shape[1], heads, q.Shape[2] / heads);
        if (n.Batch == 0 || n.Nq == 0) return;
        var scores = CudaBackend.AttentionBf16ScratchScores(n);
        attentionScores.AtLeast(scores);
        attentionProbs.AtLeast(scores);
    }

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, int heads, bool causal, float scale) { }
    public void Embedding(Tensor y, Tensor ids, Tensor table, Tensor? pos, Tensor? inject) { }
    public void EmbeddingBackward(Tensor dinject, Tensor dy, Tensor ids) { }
    public void PatchEmbed(Tensor y, Tensor image, Tensor w) { }
    public void UpsampleBilinear(Tensor y, Tensor x) { }
    public void UpsampleBilinearBackward(Tensor dx, Tensor dy) { }
    public void SimilarityMap(Tensor map, Tensor s, float scale) { }
    public void SimilarityMapBackward(Tensor ds, Tensor dmap, Tensor s, float scale) { }
    public void PlanarFlow(Tensor zK, Tensor logdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b) { }
    public void PlanarFlowBackward(Tensor dz0, Tensor du, Tensor dw, Tensor db, Tensor dzK, Tensor dlogdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b) { }
    public void FlowBaseSample(Tensor z0, Tensor v, Tensor mu, Tensor h, Tensor eps) { }
    public void FlowBaseSampleBackward(Tensor dmu, Tensor dh, Tensor dz0, Tensor? dv, Tensor v, Tensor eps) { }
    public void PromptBlocks(Tensor blocks, Tensor ctx, Tensor stateNormal, Tensor stateAbnormal, Tensor zc, Tensor zn, Tensor za) { }
    public void PromptBlocksBackward(Tensor dctx, Tensor dstateNormal, Tensor dstateAbnormal, Tensor dzc, Tensor dzn, Tensor dza, Tensor dblocks) { }
    public void SegLoss(Tensor loss, Tensor stats, Tensor logits, Tensor mask) { }
    public void SegLossBackward(Tensor dlogits, Tensor stats, Tensor logits, Tensor mask, float dFocal, float dDice) { }
    public void AdamStep(Tensor param, Tensor m, Tensor v, Tensor grad, AdamScalars s) { }

    public void Dispose()
    {
        bf16Input.Dispose();
        attentionScores.Dispose();
        attentionProbs.Dispose();
    }

    private sealed class PlanTensor(PlanningBackend plan, string name, Shape shape, DType dtype, bool owner) : Tensor(name, shape, dtype)
    {
        private bool disposed;

        public override IBackend Backend => plan;

        public override Tensor View(long offset, Shape shape, string? name = null)
        {
            if (offset < 0 || offset + shape.Length > Length)
                throw new ArgumentOutOfRangeException(nameof(offset), $"{Name}: view [{offset}, {offset + shape.Length}) outside {Shape}");
            return new PlanTensor(plan, name ?? Name, shape, DType, owner: false);
        }

        public override void Dispose()
        {
            if (!owner || disposed) return;
            disposed = true;
            plan.Track(Name, -Bytes);
        }
    }
}
