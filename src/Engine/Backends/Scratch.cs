using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends;

/// <summary>
/// A backend-owned work tensor that grows to the largest length asked for and is then reused (ops run one at a time).
/// The named kinds below are the scratch the CUDA backend keeps for the bf16 mode; the planning backend keeps the same
/// ones so that its memory plans count them under the same names.
/// </summary>
internal sealed class Scratch(IBackend backend, string name, DType dtype) : IDisposable
{
    private Tensor? tensor;

    /// <summary>x rounded to bf16 for a Linear with BF16 weights and an F32 input.</summary>
    public static Scratch Bf16LinearInput(IBackend backend) => new(backend, "linear bf16 input", DType.BF16);

    /// <summary>One chunk of bf16 attention's fp32 score rows.</summary>
    public static Scratch AttentionScores(IBackend backend) => new(backend, "attention bf16 scores", DType.F32);

    /// <summary>The same chunk's probabilities, rounded to bf16.</summary>
    public static Scratch AttentionProbabilities(IBackend backend) => new(backend, "attention bf16 probabilities", DType.BF16);

    public long Bytes => tensor?.Bytes ?? 0;

    /// <summary>A tensor of at least <paramref name="length"/> elements (at least 1); contents undefined.</summary>
    public Tensor AtLeast(long length)
    {
        if (tensor is not null && tensor.Length >= length) return tensor;
        tensor?.Dispose();
        tensor = null;  // a failed allocation must not leave a disposed tensor behind
        tensor = backend.Allocate(new Shape(checked((int)Math.Max(1, length))), name, dtype);
        return tensor;
    }

    public void Dispose()
    {
        tensor?.Dispose();
        tensor = null;
    }
}
