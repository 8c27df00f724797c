using System.CommandLine;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Detection;

namespace BayesPfl.Cli;

/// <summary>Options several verbs share, defined once so that their names, values and help read the same everywhere.</summary>
internal static class CommonOptions
{
    public static Option<string> Device(string description = "auto, cpu or cuda", string name = "--device")
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => "auto" };
        o.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        return o;
    }

    public static DetectorDevice ParseDevice(string name) => Enum.Parse<DetectorDevice>(name, ignoreCase: true);

    /// <summary>--precision fp32|bf16; <paramref name="defaultValue"/> null leaves it unset (bench then measures both).</summary>
    public static Option<string?> Precision(string? defaultValue = "fp32", string more = "")
    {
        var o = new Option<string?>("--precision")
        {
            Description = "CLIP towers' numeric mode: fp32 (parity with PyTorch) or bf16 (GEMM weights and GEMM/attention operands " +
                          "rounded to bfloat16, fp32 accumulation, LayerNorm/softmax/GELU/head in fp32; half the weight memory, faster " +
                          "on a GPU's tensor cores; on the CPU it runs the reference emulation, slower than fp32)" + more,
        };
        if (defaultValue is not null) o.DefaultValueFactory = _ => defaultValue;
        // A validator rather than AcceptOnlyFromAmong: a wrong value (fp16, say) is one line naming the choices.
        o.HelpName = "fp32|bf16";
        o.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } v && v is not ("fp32" or "bf16"))
                r.AddError($"--precision {v}: expected fp32 or bf16 (there is no {v} mode)");
        });
        return o;
    }

    public static DetectorPrecision ParsePrecision(string name) => Enum.Parse<DetectorPrecision>(name, ignoreCase: true);

    public static Option<string> Layout(string name, string description)
    {
        var o = new Option<string>(name) { Description = $"{description}: mvtec, visa, btad, meta, folder or auto", DefaultValueFactory = _ => "auto" };
        o.AcceptOnlyFromAmong("mvtec", "visa", "btad", "meta", "folder", "auto");
        return o;
    }

    /// <summary>The layout a --dataset value names; null for auto (detected from the folder).</summary>
    public static DatasetLayout? ParseLayout(string name) => name switch
    {
        "mvtec" => DatasetLayout.MvTec,
        "visa" => DatasetLayout.Visa,
        "btad" => DatasetLayout.Btad,
        "meta" => DatasetLayout.MetaJson,
        "folder" => DatasetLayout.Folder,
        _ => null,
    };
}
