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
