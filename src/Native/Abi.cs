using System.Runtime.InteropServices;

namespace BayesPfl.Native;

/// <summary>bpfl_status: the return value of every entry point (values fixed by include/bayespfl.h).</summary>
internal enum Status
{
    Ok = 0,
    InvalidArgument = 1,
    Io = 2,
    Format = 3,
    Device = 4,
    Internal = 5,
}

/// <summary>bpfl_options, field for field (layout: 4+4+4+4+8+4, padded to 32 bytes by the C compiler too).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BpflOptions
{
    public uint StructSize;
    public int Device;
    public int Precision;
    public int Samples;
    public ulong Seed;
    public int TopK;
}

/// <summary>bpfl_result, field for field (40 bytes: the doubles are 8-aligned after struct_size).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BpflResult
{
    public uint StructSize;
    public double PImg;
    public double SMap;
    public int TopK;
    public int MapSize;
    public int ImageWidth;
    public int ImageHeight;
}
