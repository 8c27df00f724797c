using BayesPfl.Host.Interop;

namespace BayesPfl.Host;

/// <summary>
/// <see cref="IGpu"/> over the real CUDA driver: the primary context of one device, one stream that orders
/// every copy, launch and GEMM, kernels compiled on first use by NVRTC (cached on disk), GEMMs by cuBLAS.
/// Safe to share between threads: the caches and the cuBLAS handle sit behind a lock, and the context is
/// made current on whichever thread calls.
/// </summary>
public sealed unsafe partial class CudaGpu : IGpu
{
    private readonly Lock gate = new();
    private readonly PrimaryContextHandle context;
    private readonly StreamHandle stream;
    private readonly Dictionary<ulong, long> allocations = [];
    private bool disposed;

    private static long instances;
    private readonly long id = Interlocked.Increment(ref instances);

    /// <summary>
    /// Which CudaGpu each thread last made its context current for, so the hot path skips the driver call.
    /// An instance id rather than the CUcontext: a primary context released and retained again may come back
    /// under the same handle, and a new instance must set it anyway.
    /// </summary>
    [ThreadStatic] private static long currentOwner;

    /// <param name="sources">The kernel files that <see cref="Launch"/> finds kernels in.</param>
    /// <param name="device">Device ordinal.</param>
    /// <param name="compiler">The compiler to use; by default one with no extra options and the default cache.</param>
    public CudaGpu(KernelSources sources, int device = 0, KernelCompiler? compiler = null)
    {
        Cuda.EnsureAvailable();
        Device = Cuda.Device(device);
        Sources = sources;
        Compiler = compiler ?? new KernelCompiler(sources);
        Status.Check(CuDriver.cuDeviceGet(out var dev, device));
        Status.Check(CuDriver.cuDevicePrimaryCtxRetain(out var ctx, dev));
        context = new PrimaryContextHandle(ctx, dev);
        try
        {
            MakeCurrent();
            // A blocking stream (flags 0): it also orders against the legacy default stream, which is what
            // libraries that ignore streams use.
            Status.Check(CuDriver.cuStreamCreate(out var s, 0));
            stream = new StreamHandle(s);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    public CudaDeviceInfo Device { get; }

    public KernelSources Sources { get; }

    public KernelCompiler Compiler { get; }

    public string Description => Device.ToString();

    /// <summary>Bytes currently allocated through this object.</summary>
    public long AllocatedBytes
    {
        get
        {
            lock (gate) return allocations.Values.Sum();
        }
    }

    public DevicePtr Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        MakeCurrent();
        var r = CuDriver.cuMemAlloc_v2(out var address, (nuint)bytes);
        if (r != CUresult.CUDA_SUCCESS)
            throw Status.Error(r, $"cuMemAlloc_v2({bytes} bytes; {AllocatedBytes} already allocated on {Device.Name})");
        lock (gate) allocations.Add(address, bytes);
        return new DevicePtr(address);
    }

    /// <summary>Frees an allocation. After <see cref="Dispose"/> this does nothing: the memory went with the context.</summary>
    public void Free(DevicePtr ptr)
    {
        lock (gate)
        {
            if (disposed) return;
            if (!allocations.Remove(ptr.Address)) throw new ArgumentException($"{ptr} is not an allocation of this GPU (double free, or a view)", nameof(ptr));
        }
        MakeCurrent();
        Status.Check(CuDriver.cuMemFree_v2(ptr.Address));
    }

    // Copies are queued on the stream and then waited for: a span may point at page-locked memory, for which
    // the async copy returns before it has read or written the host bytes, and the span is only valid during
    // this call.
    public void CopyToDevice<T>(DevicePtr dst, ReadOnlySpan<T> src) where T : unmanaged
    {
        if (src.IsEmpty) return;
        MakeCurrent();
        fixed (T* p = src)
        {
            Status.Check(CuDriver.cuMemcpyHtoDAsync_v2(dst.Address, p, (nuint)((long)src.Length * sizeof(T)), stream.Value));
            Status.Check(CuDriver.cuStreamSynchronize(stream.Value));
        }
    }

    public void CopyToHost<T>(Span<T> dst, DevicePtr src) where T : unmanaged
    {
        if (dst.IsEmpty) return;
        MakeCurrent();
        fixed (T* p = dst)
        {
            Status.Check(CuDriver.cuMemcpyDtoHAsync_v2(p, src.Address, (nuint)((long)dst.Length * sizeof(T)), stream.Value));
            Status.Check(CuDriver.cuStreamSynchronize(stream.Value));
        }
    }

    public void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes)
    {
        if (bytes == 0) return;
        MakeCurrent();
        Status.Check(CuDriver.cuMemcpyDtoDAsync_v2(dst.Address, src.Address, (nuint)bytes, stream.Value));
    }

    public void Memset(DevicePtr dst, byte value, long bytes)
    {
        if (bytes == 0) return;
        MakeCurrent();
        Status.Check(CuDriver.cuMemsetD8Async(dst.Address, value, (nuint)bytes, stream.Value));
    }

    public void Synchronize()
    {
        MakeCurrent();
        var r = CuDriver.cuStreamSynchronize(stream.Value);
        // Kernel faults surface here, long after the launch; naming the last kernel is usually the culprit.
        if (r != CUresult.CUDA_SUCCESS) throw Status.Error(r, $"cuStreamSynchronize (last kernel launched: {lastKernel ?? "none"})");
    }

    private void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (currentOwner == id) return;
        Status.Check(CuDriver.cuCtxSetCurrent(context.Value));
        currentOwner = id;
    }

    /// <summary>Frees what is still allocated, then the cuBLAS handle, modules, events, stream and the context retain.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            MakeCurrent();
            disposed = true;
            // Freed explicitly because another user of the primary context (e.g. PyTorch in the same process)
            // keeps it alive. Dispose must not throw, and a free fails only once the context has a sticky
            // error, when the driver reclaims the memory with the context anyway, so the status is dropped.
            foreach (var address in allocations.Keys) _ = CuDriver.cuMemFree_v2(address);
            allocations.Clear();
            DisposeKernelsAndBlas();
            stream.Dispose();
            context.Dispose();
            currentOwner = 0;
        }
    }
}
