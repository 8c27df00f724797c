using BayesPfl.Host;

namespace BayesPfl.KernelEmu;

/// <summary>
/// IGpu over the kernel emulator: src/Kernels/*.cu compiled by g++ against emu.h (tests/KernelEmu/build.sh),
/// one fiber per CUDA thread. Memory is host memory with guard bytes (see <see cref="DeviceHeap"/>); every
/// launch is validated like the driver would (grid, block, shared memory) plus what the driver cannot check:
/// the argument count against the kernel's signature, and that every pointer argument points into a live
/// allocation. Guards are verified after every launch, so an out-of-bounds write names its kernel.
/// Launches run synchronously; results do not depend on <see cref="Workers"/> (a block runs on one worker).
/// </summary>
public sealed unsafe class EmuGpu : IGpu
{
    /// <summary>The largest dynamic shared memory a kernel may ask for (H100/H200: 227 KiB per block).</summary>
    public const int MaxDynamicSharedBytes = 227 * 1024;

    private readonly DeviceHeap heap = new();
    private readonly Dictionary<string, string> signatures = new(StringComparer.Ordinal);
    private int workers = Environment.ProcessorCount;

    public EmuGpu()
    {
        Native.EnsureLoaded();
    }

    /// <summary>Threads that share a launch's blocks (and a GEMM's columns).</summary>
    public int Workers
    {
        get => workers;
        set => workers = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least one worker");
    }

    public string Description => $"kernel emulator ({Workers} CPU workers)";

    /// <summary>
    /// Fiber stack size, process-wide, for kernels with large local arrays (default 64 KiB or
    /// BAYESPFL_EMU_STACK_KB; at least 16 KiB). Launches pick it up when they start.
    /// </summary>
    public static int StackBytes
    {
        get
        {
            Native.EnsureLoaded();
            return (int)Native.emu_get_stack_bytes();
        }
        set
        {
            Native.EnsureLoaded();
            Native.emu_set_stack_bytes((nuint)value);
        }
    }

    /// <summary>Every kernel the emulator knows, src/Kernels and its own self-test kernels.</summary>
    public static IReadOnlyList<string> Kernels()
    {
        var size = Native.emu_kernel_list(null, 0);
        var buffer = new byte[size];
        fixed (byte* p = buffer) Native.emu_kernel_list(p, size);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, size - 1).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public DevicePtr Allocate(long bytes) => heap.Allocate(bytes);

    public void Free(DevicePtr ptr) => heap.Free(ptr);

    public void CopyToDevice<T>(DevicePtr dst, ReadOnlySpan<T> src) where T : unmanaged
    {
        var bytes = (long)src.Length * sizeof(T);
        fixed (T* s = src) Buffer.MemoryCopy(s, heap.Range(dst, bytes, "CopyToDevice destination"), bytes, bytes);
    }

    public void CopyToHost<T>(Span<T> dst, DevicePtr src) where T : unmanaged
    {
        var bytes = (long)dst.Length * sizeof(T);
        fixed (T* d = dst) Buffer.MemoryCopy(heap.Range(src, bytes, "CopyToHost source"), d, bytes, bytes);
    }

    public void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes) =>
        Buffer.MemoryCopy(heap.Range(src, bytes, "CopyDeviceToDevice source"), heap.Range(dst, bytes, "CopyDeviceToDevice destination"), bytes, bytes);

    public void Memset(DevicePtr dst, byte value, long bytes) =>
        System.Runtime.InteropServices.NativeMemory.Fill(heap.Range(dst, bytes, "Memset"), (nuint)bytes, value);

    public void Launch(string kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, KernelArgs args)
    {
        if (grid.X == 0 || grid.Y == 0 || grid.Z == 0 || grid.X > int.MaxValue || grid.Y > 65535 || grid.Z > 65535)
            throw new ArgumentException($"kernel {kernel}: invalid grid {grid} (each extent >= 1; x < 2^31, y and z <= 65535)");
        if (block.X == 0 || block.Y == 0 || block.Z == 0 || block.X > 1024 || block.Y > 1024 || block.Z > 64 || block.Volume > 1024)
            throw new ArgumentException($"kernel {kernel}: invalid block {block} (at most 1024 threads; x, y <= 1024, z <= 64)");
        if (dynamicSharedBytes < 0 || dynamicSharedBytes > MaxDynamicSharedBytes)
            throw new ArgumentException($"kernel {kernel}: {dynamicSharedBytes} bytes of dynamic shared memory (at most {MaxDynamicSharedBytes})");
        var signature = Signature(kernel);
        if (args.Count != signature.Length)
            throw new ArgumentException($"kernel {kernel} takes {signature.Length} parameters ({signature}), the launch passed {args.Count}");
        var slots = (void**)args.Pointers;
        for (var i = 0; i < signature.Length; i++)
        {
            var value = *(ulong*)slots[i];
            if (signature[i] == 'p' && value != 0 && !heap.Contains(value))
                throw new ArgumentException($"kernel {kernel}: argument {i} is a pointer, but 0x{value:x} lies in no live allocation");
            // Int and Float fill the low half of the slot and zero the rest; a pointer or long there is a mix-up.
            if (signature[i] is 'i' or 'u' or 'f' && value >> 32 != 0)
                throw new ArgumentException($"kernel {kernel}: argument {i} is a 4-byte {(signature[i] == 'f' ? "float" : "int")}, but the launch passed an 8-byte value 0x{value:x}");
        }
        var error = Native.Call((err, len) => Native.emu_launch(kernel, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z,
            (nuint)dynamicSharedBytes, args.Pointers, args.Count, Workers, err, len));
        if (error is not null) throw new InvalidOperationException($"kernel {kernel} (grid {grid}, block {block}): {error}");
        heap.CheckGuards($"after kernel {kernel}");
    }

    public void SgemmStridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda, long strideA,
        DevicePtr b, int ldb, long strideB, float beta, DevicePtr c, int ldc, long strideC, int batch)
    {
        const string Name = "SgemmStridedBatched";
        CheckGemmOperands(Name, sizeof(float), transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch);
        var error = Native.Call((err, len) => Native.emu_sgemm_strided_batched((int)transA, (int)transB, m, n, k, alpha, (IntPtr)a.Address, lda,
            strideA, (IntPtr)b.Address, ldb, strideB, beta, (IntPtr)c.Address, ldc, strideC, batch, Workers, err, len));
        if (error is not null) throw new ArgumentException(error);
        heap.CheckGuards("after " + Name);
    }

    /// <summary>Same loop as the sgemm (double accumulation), with A and B read as bfloat16 bits widened exactly.</summary>
    public void GemmBf16StridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda, long strideA,
        DevicePtr b, int ldb, long strideB, float beta, DevicePtr c, int ldc, long strideC, int batch)
    {
        const string Name = "GemmBf16StridedBatched";
        CheckGemmOperands(Name, sizeof(ushort), transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch);
        var error = Native.Call((err, len) => Native.emu_gemm_bf16_strided_batched((int)transA, (int)transB, m, n, k, alpha, (IntPtr)a.Address, lda,
            strideA, (IntPtr)b.Address, ldb, strideB, beta, (IntPtr)c.Address, ldc, strideC, batch, Workers, err, len));
        if (error is not null) throw new ArgumentException(error);
        heap.CheckGuards("after " + Name);
    }

    public void Synchronize()
    {
    }

    /// <summary>Throws if any guard byte around any live allocation was overwritten.</summary>
    public void CheckGuards() => heap.CheckGuards("CheckGuards");

    public void Dispose() => heap.Dispose();

    private string Signature(string kernel)
    {
        if (signatures.TryGetValue(kernel, out var s)) return s;
        string? found = null;
        var error = Native.Call((buffer, len) =>
        {
            var rc = Native.emu_kernel_signature(kernel, buffer, len);
            if (rc == 0) found = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(buffer);
            return rc;
        });
        if (error is not null) throw new ArgumentException(error);
        return signatures[kernel] = found ?? "";
    }

    /// <summary>Every matrix the GEMM will touch must lie in one allocation: A and B (elementBytes each) unless alpha or k is 0, and C (fp32).</summary>
    private void CheckGemmOperands(string gemm, int elementBytes, GemmOp transA, GemmOp transB, int m, int n, int k, float alpha,
        DevicePtr a, int lda, long strideA, DevicePtr b, int ldb, long strideB, DevicePtr c, int ldc, long strideC, int batch)
    {
        if (m <= 0 || n <= 0 || batch <= 0) return;
        if (alpha != 0 && k > 0)
        {
            CheckOperand(gemm, "A", elementBytes, a, transA == GemmOp.N ? m : k, transA == GemmOp.N ? k : m, lda, strideA, batch);
            CheckOperand(gemm, "B", elementBytes, b, transB == GemmOp.N ? k : n, transB == GemmOp.N ? n : k, ldb, strideB, batch);
        }
        CheckOperand(gemm, "C", sizeof(float), c, m, n, ldc, strideC, batch);
    }

    /// <summary>A column-major operand (rows x cols, leading dimension ld, batch matrices stride apart) must lie in one allocation.</summary>
    private void CheckOperand(string gemm, string name, int elementBytes, DevicePtr p, int rows, int cols, int ld, long stride, int batch)
    {
        if (ld < rows) return;  // the native side names the bad leading dimension
        var first = Math.Min(0, (batch - 1) * stride);
        var last = Math.Max(0, (batch - 1) * stride) + (long)(cols - 1) * ld + rows;
        heap.Range(p + first * elementBytes, (last - first) * elementBytes, $"{gemm} operand {name} ({rows}x{cols}, ld {ld}, stride {stride}, batch {batch})");
    }
}
