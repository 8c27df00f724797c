using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cuda;

public sealed partial class CudaBackend
{
    public void Linear(Tensor y, Tensor x, Tensor w, Tensor? bias) => throw new NotImplementedException();

    public void LinearBackwardInput(Tensor dx, Tensor dy, Tensor w) => throw new NotImplementedException();

    public void LinearBackwardWeight(Tensor dw, Tensor? dbias, Tensor dy, Tensor x) => throw new NotImplementedException();

    public void BatchedMatMul(Tensor c, Tensor a, Tensor bm, bool transposeB) => throw new NotImplementedException();
}
