using System.Runtime.InteropServices;

namespace BayesPfl.Host;

/// <summary>
/// Kernel parameters in cuLaunchKernel's form: an array of pointers, one per parameter, each pointing at
/// the parameter's value. Every value sits in its own 8-byte slot; a 4-byte int or float occupies the
/// low half, which is what the driver reads on a little-endian host.
/// </summary>
public sealed unsafe class KernelArgs : IDisposable
{
    private const int MaxArgs = 32;
    private readonly ulong* slots;
    private readonly void** pointers;

    public KernelArgs()
    {
        slots = (ulong*)NativeMemory.AllocZeroed(MaxArgs * sizeof(ulong));
        pointers = (void**)NativeMemory.AllocZeroed(MaxArgs * (nuint)sizeof(void*));
    }

    public int Count { get; private set; }

    /// <summary>The void** that cuLaunchKernel and the emulator take.</summary>
    public IntPtr Pointers => (IntPtr)pointers;

    public KernelArgs Ptr(DevicePtr p) => Put(p.Address);

    public KernelArgs Int(int v) => Put((uint)v);

    public KernelArgs Long(long v) => Put((ulong)v);

    public KernelArgs Float(float v) => Put(BitConverter.SingleToUInt32Bits(v));

    public void Clear() => Count = 0;

    private KernelArgs Put(ulong bits)
    {
        if (Count == MaxArgs) throw new InvalidOperationException($"a kernel takes at most {MaxArgs} parameters");
        slots[Count] = bits;
        pointers[Count] = slots + Count;
        Count++;
        return this;
    }

    public void Dispose()
    {
        NativeMemory.Free(slots);
        NativeMemory.Free(pointers);
    }
}
