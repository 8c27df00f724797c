using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Tests.Ops.Basic;

/// <summary>
/// One element-wise or row-wise op with a single input and a backward that takes (dx, dy, saved), where saved
/// is the input x or the output y. Carries the op on a backend, the generic references for finite
/// differences, and its tolerances against PyTorch, each justified where it is declared.
/// </summary>
public sealed record Unary(
    string Oracle,
    bool SavesOutput,
    Action<IBackend, Tensor, Tensor> Forward,
    Action<IBackend, Tensor, Tensor, Tensor> Backward,
    Action<double[], double[], int, int> ForwardRef,
    Action<double[], double[], double[], int, int> BackwardRef,
    double Atol,
    double Rtol,
    double GradAtol,
    double GradRtol,
    float InputScale = 3f)
{
    public override string ToString() => Oracle;

    public static readonly Unary GeluErf = new("gelu_erf", false,
        (b, y, x) => b.Gelu(y, x, GeluKind.Erf), (b, dx, dy, x) => b.GeluBackward(dx, dy, x, GeluKind.Erf),
        (y, x, _, _) => PointwiseReference.Gelu<double>(y, x, GeluKind.Erf), (dx, dy, x, _, _) => PointwiseReference.GeluBackward<double>(dx, dy, x, GeluKind.Erf),
        // PyTorch evaluates 1+erf(x/√2), which cancels in the negative tail: abs error ≈ |x|·2^-24/2 ≤ 3e-7 for |x| ≤ 9,
        // times |dy| ≤ 5 in the gradient. Elsewhere both are within a few ulps (rtol 2e-6).
        5e-7, 2e-6, 2e-6, 2e-6);

    public static readonly Unary GeluQuick = new("gelu_quick", false,
        (b, y, x) => b.Gelu(y, x, GeluKind.Quick), (b, dx, dy, x) => b.GeluBackward(dx, dy, x, GeluKind.Quick),
        (y, x, _, _) => PointwiseReference.Gelu<double>(y, x, GeluKind.Quick), (dx, dy, x, _, _) => PointwiseReference.GeluBackward<double>(dx, dy, x, GeluKind.Quick),
        // Ours is computed in double and rounded once; PyTorch chains fp32 exp/sigmoid/mul (a few ulps each);
        // its autograd gradient sums two rounded terms, s and 1.702·x·s(1-s), which partly cancel for x < 0.
        2e-7, 2e-6, 2e-6, 1e-5);

    public static readonly Unary Softplus = new("softplus", false,
        (b, y, x) => b.Softplus(y, x), (b, dx, dy, x) => b.SoftplusBackward(dx, dy, x),
        (y, x, _, _) => PointwiseReference.Softplus<double>(y, x), (dx, dy, x, _, _) => PointwiseReference.SoftplusBackward<double>(dx, dy, x),
        // fp32 log1p(exp) on both sides, a few ulps each, relative also in the e^x tail (x down to -30 gives 1e-13,
        // hence the tiny atol); gradients are O(|dy|) values, a few ulps apart.
        1e-12, 2e-6, 1e-7, 2e-6, 10f);

    public static readonly Unary Tanh = new("tanh", true,
        (b, y, x) => b.Tanh(y, x), (b, dx, dy, y) => b.TanhBackward(dx, dy, y),
        (y, x, _, _) => PointwiseReference.Tanh<double>(y, x), (dx, dy, y, _, _) => PointwiseReference.TanhBackward<double>(dx, dy, y),
        // tanhf differs by an ulp or two; 1-y² then inherits an absolute error of ~2·2^-24 (×|dy| ≤ 5).
        1e-7, 2e-6, 1e-6, 2e-6, 2f);

    public static readonly Unary Softmax = new("softmax", true,
        (b, y, x) => b.Softmax(y, x), (b, dx, dy, y) => b.SoftmaxBackward(dx, dy, y),
        (y, x, rows, c) => RowReference.Softmax<double>(y, x, rows, c), (dx, dy, y, rows, c) => RowReference.SoftmaxBackward<double>(dx, dy, y, rows, c),
        // Row sums over C ≤ 77 (and 773 on the emulator) in different orders: relative error ~ sqrt(C)·2^-24 ≈ 2e-6.
        // The backward subtracts Σdy·y (magnitude ≤ 3) from dy: absolute error ~ 1e-6 before scaling by y ≤ 1, on
        // both sides (the oracle is float32 too), and where y ≈ 1 the difference dx = y(dy − Σ) cancels, so rtol
        // cannot help. Measured against ops_basic.py over 1500 seeds with 2e-6: median 0.05, p99 0.37, p99.9 0.53,
        // max 0.67 of the bound, a tail reaching 1 in ~1e-5 of runs; 4e-6 halves that (a wrong term is off by O(0.1)).
        1e-7, 1e-5, 4e-6, 1e-5, 4f);

    public static readonly Unary[] All = [GeluErf, GeluQuick, Softplus, Tanh, Softmax];
}
