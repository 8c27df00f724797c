using System.Runtime.InteropServices;
using BayesPfl.Host;

namespace BayesPfl.KernelEmu;

/// <summary>
/// The emulator's "device memory": host memory with guard bytes before and after every allocation, so
/// out-of-bounds writes are caught (at Free, after every launch, and on CheckGuards), and fresh memory full
/// of 0xFF bytes (a float NaN), so reads of never-written memory show up as NaN. Every copy, memset and
/// pointer argument is checked to lie inside one live allocation.
/// </summary>
internal sealed unsafe class DeviceHeap : IDisposable
{
    /// <summary>Guard bytes on each side; also the alignment of every allocation, like cudaMalloc's.</summary>
    internal const int Guard = 256;

    /// <summary>Guard bytes: 0xFFBADBAD per 4 bytes, a NaN when a kernel reads a float past the end, and a value no kernel writes by chance.</summary>
    private static readonly byte[] Pattern = Enumerable.Range(0, Guard).Select(i => (byte)(0xFFBADBADu >> (8 * (i % 4)))).ToArray();

    private readonly SortedList<ulong, Block> blocks = [];
    private readonly object gate = new();
    private long serial;

    private sealed record Block(long Id, ulong User, long Bytes)
    {
        public byte* Base => (byte*)User - Guard;

        public override string ToString() => $"allocation #{Id} ({Bytes} bytes at 0x{User:x})";
    }

    public DevicePtr Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var b = (byte*)NativeMemory.AlignedAlloc((nuint)(bytes + 2 * Guard), Guard);
        Pattern.CopyTo(new Span<byte>(b, Guard));
        NativeMemory.Fill(b + Guard, (nuint)bytes, 0xFF);
        Pattern.CopyTo(new Span<byte>(b + Guard + bytes, Guard));
        lock (gate)
        {
            var block = new Block(++serial, (ulong)(b + Guard), bytes);
            blocks.Add(block.User, block);
            return new DevicePtr(block.User);
        }
    }

    public void Free(DevicePtr ptr)
    {
        lock (gate)
        {
            if (!blocks.TryGetValue(ptr.Address, out var block))
                throw new InvalidOperationException($"Free({ptr}): not the start of a live allocation (double free, or a pointer into one)");
            Verify(block, $"Free({ptr})");
            blocks.Remove(ptr.Address);
            NativeMemory.AlignedFree(block.Base);
        }
    }

    /// <summary>Throws naming the first allocation whose guards were overwritten, and <paramref name="when"/>.</summary>
    public void CheckGuards(string when)
    {
        lock (gate)
            foreach (var block in blocks.Values)
                Verify(block, when);
    }

    /// <summary>The host address of [ptr, ptr + bytes), which must lie inside one live allocation.</summary>
    public byte* Range(DevicePtr ptr, long bytes, string what)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (gate)
        {
            var block = Find(ptr.Address) ??
                throw new ArgumentException($"{what}: {ptr} is not inside any live allocation");
            var offset = (long)(ptr.Address - block.User);
            if (offset + bytes > block.Bytes)
                throw new ArgumentException($"{what}: [{ptr}, +{bytes} bytes) runs {offset + bytes - block.Bytes} bytes past the end of {block} (offset {offset})");
            return (byte*)ptr.Address;
        }
    }

    /// <summary>Whether a kernel pointer argument points into (or just past the end of) a live allocation.</summary>
    public bool Contains(ulong address)
    {
        lock (gate)
            return Find(address) is not null;
    }

    private Block? Find(ulong address)
    {
        var keys = blocks.Keys;
        int lo = 0, hi = keys.Count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (keys[mid] <= address) (found, lo) = (mid, mid + 1);
            else hi = mid - 1;
        }
        if (found < 0) return null;
        var block = blocks.Values[found];
        return address - block.User <= (ulong)block.Bytes ? block : null;
    }

    private static void Verify(Block block, string when)
    {
        var before = new ReadOnlySpan<byte>(block.Base, Guard);
        var after = new ReadOnlySpan<byte>((byte*)block.User + block.Bytes, Guard);
        var lastBefore = before.Length - 1 - CommonSuffixLength(before);
        if (lastBefore >= 0)
            throw new InvalidOperationException($"{when}: out-of-bounds write before the start of {block}: guard byte at offset {lastBefore - Guard} was overwritten");
        var firstAfter = FirstDifference(after);
        if (firstAfter >= 0)
            throw new InvalidOperationException($"{when}: out-of-bounds write past the end of {block}: guard byte at offset {block.Bytes + firstAfter} (end + {firstAfter}) was overwritten");
    }

    private static int FirstDifference(ReadOnlySpan<byte> guard)
    {
        var i = guard.CommonPrefixLength(Pattern);
        return i == Guard ? -1 : i;
    }

    /// <summary>Intact guard bytes at the end of the head guard, i.e. next to the data (the write nearest the start is reported).</summary>
    private static int CommonSuffixLength(ReadOnlySpan<byte> guard)
    {
        var n = 0;
        while (n < Guard && guard[Guard - 1 - n] == Pattern[Guard - 1 - n]) n++;
        return n;
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var block in blocks.Values) NativeMemory.AlignedFree(block.Base);
            blocks.Clear();
        }
    }
}
