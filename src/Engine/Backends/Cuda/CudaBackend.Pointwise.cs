using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cuda;

public sealed partial class CudaBackend
{
    public void Gelu(Tensor y, Tensor x, GeluKind kind) => throw new NotImplementedException();

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x, GeluKind kind) => throw new NotImplementedException();

    public void Add(Tensor y, Tensor a, Tensor b) => throw new NotImplementedException();

    public void Softmax(Tensor y, Tensor x) => throw new NotImplementedException();

    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y) => throw new NotImplementedException();

    public void Softplus(Tensor y, Tensor x) => throw new NotImplementedException();

    public void SoftplusBackward(Tensor dx, Tensor dy, Tensor x) => throw new NotImplementedException();

    public void Tanh(Tensor y, Tensor x) => throw new NotImplementedException();

    public void TanhBackward(Tensor dx, Tensor dy, Tensor y) => throw new NotImplementedException();
}
