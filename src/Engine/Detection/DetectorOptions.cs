namespace BayesPfl.Engine.Detection;

/// <summary>Which backend <see cref="AnomalyDetector.Load"/> runs on.</summary>
public enum DetectorDevice
{
    /// <summary>CUDA when a device is present, else the CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

/// <summary>Numeric mode of the CLIP towers (the head, the maps and the metrics are always fp32).</summary>
public enum DetectorPrecision
{
    /// <summary>Parity with PyTorch (spec 3: the reference runs CLIP in fp32).</summary>
    Fp32,

    /// <summary>
    /// Tower GEMM weights stored as bfloat16 (half the memory), GEMM and attention operands rounded to bf16 with
    /// fp32 accumulation (tensor cores), LayerNorm, softmax, GELU and residual adds in fp32. On the CPU backend it runs
    /// the reference emulation of the mode (values rounded to bf16, kept as floats): slower than fp32, for checking it.
    /// </summary>
    Bf16,
}

public static class DetectorPrecisionNames
{
    /// <summary>The name the command line, records and reports use: "fp32" or "bf16".</summary>
    public static string Name(this DetectorPrecision precision) => precision.ToString().ToLowerInvariant();
}

/// <summary>Settings of an <see cref="AnomalyDetector"/>; defaults are the reference test run's (spec 1).</summary>
public sealed record DetectorOptions
{
    public DetectorDevice Device { get; init; } = DetectorDevice.Auto;

    public DetectorPrecision Precision { get; init; } = DetectorPrecision.Fp32;

    /// <summary>R, flow samples per distribution.</summary>
    public int Samples { get; init; } = 10;

    /// <summary>Seed of the engine's own Gaussian stream (PyTorch's stream cannot be reproduced, spec 14.9).</summary>
    public ulong Seed { get; init; } = 333;

    /// <summary>k of s_map; null picks it from the category name (spec 8: 20 or 2000).</summary>
    public int? TopK { get; init; }

    /// <summary>
    /// Injected base noise instead of the seeded stream (parity tests): called once per image, in detection
    /// order, with the number of values wanted (3·R·Embed: context, normal, abnormal) and returns them.
    /// </summary>
    public Func<int, float[]>? NoiseSource { get; init; }

    /// <summary>
    /// Called with (image index within the Detect call, stage, tensor) for the intermediates "g", "tap{layer}",
    /// "prompt_blocks" and "text" (normalised) while they are alive (stage-by-stage parity tests, debugging).
    /// </summary>
    public Action<int, string, Tensors.Tensor>? Inspect { get; init; }
}
