using System.CommandLine;
using System.Globalization;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Validation;
using Spectre.Console;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl validate --reference FILE`: runs the engine on the inputs of a reference dump (tests/reference oracles, or
/// a user's own PyTorch run, docs/reference-dumps.md) and prints one row per compared tensor: max abs and relative
/// error, NMSE, the worst element against its allowance, pass/fail. Exit 0 only when every tensor passes, 1 when
/// one fails, 2 when the dump or the engine files cannot be used (one line saying why).
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var reference = new Option<string>("--reference") { Description = "reference dump (.safetensors) holding inputs and expected outputs", Required = true };
        var clip = new Option<string?>("--clip") { Description = "CLIP engine file (default: the one the dump's metadata names)" };
        var head = new Option<string?>("--head") { Description = "head engine file, for pipeline dumps (default: from the dump's metadata)" };
        var device = CommonOptions.Device();
        var command = new Command("validate", "Compare the engine with a PyTorch reference dump, tensor by tensor (exit 0: all pass, 1: a tensor fails, 2: unusable input)")
        {
            reference, clip, head, device,
        };
        command.SetAction(r => Run(r.GetValue(reference)!, r.GetValue(clip), r.GetValue(head), CommonOptions.ParseDevice(r.GetValue(device)!)));
        return command;
    }

    private static int Run(string reference, string? clip, string? head, DetectorDevice device)
    {
        // Piped output (logs, CI) gets the whole table instead of Spectre's 80-column default.
        ValidationReport report;
        try
        {
            report = Validator.Run(reference, clip, head, device, phase => AnsiConsole.MarkupLine($"[grey]running the {Markup.Escape(phase)}...[/]"));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"bayespfl validate: {e.Message}");
            return 2;
        }
        Print(report);
        return report.Passed ? 0 : 1;
    }

    private static void Print(ValidationReport report)
    {
        var kind = report.Kind == DumpKind.Pipeline ? "pipeline" : "CLIP towers";
        AnsiConsole.MarkupLine(Markup.Escape($"reference {report.DumpPath} ({kind} dump), backend {report.Backend}"));
        AnsiConsole.MarkupLine(Markup.Escape($"clip {report.ClipPath}" + (report.HeadPath is null ? "" : $", head {report.HeadPath}")));
        var table = new Table().AddColumns("tensor", "kind", "shape");
        foreach (var c in new[] { "max abs", "max rel", "nmse", "worst / allowed" }) table.AddColumn(new TableColumn(c).RightAligned());
        table.AddColumn("result");
        foreach (var c in report.Checks)
        {
            table.AddRow(Markup.Escape(c.Name), c.Kind.ToString(), Markup.Escape(c.ShapeText), Num(c.MaxAbs), Num(c.MaxRel), Num(c.Nmse), Num(c.Limit),
                c.Passed ? "[green]pass[/]" : "[red]FAIL[/]");
        }
        AnsiConsole.Write(table);
        foreach (var kindUsed in report.Checks.Select(c => c.Kind).Distinct())
            AnsiConsole.MarkupLine(Markup.Escape($"  {kindUsed}: |engine-ref| <= {Tolerance.For(kindUsed)}"));
        foreach (var c in report.Checks.Where(c => !c.Passed))
        {
            var why = c.Problem ?? $"element {c.Worst}: engine {c.WorstEngine:G6}, reference {c.WorstReference:G6}; " +
                                  $"{c.Limit:G3}x the allowed error, nmse {c.Nmse:G3} (limit {c.Tolerance.MaxNmse:G2})";
            AnsiConsole.MarkupLine($"[red]FAIL[/] {Markup.Escape($"{c.Name}: {why}")}");
        }
        if (report.NotChecked.Count > 0)
            AnsiConsole.MarkupLine(Markup.Escape($"not checked (not a known output): {string.Join(", ", report.NotChecked)}"));
        var failed = report.Checks.Count(c => !c.Passed);
        AnsiConsole.MarkupLine(failed == 0
            ? $"[green]{report.Checks.Count} tensors pass[/]"
            : $"[red]{failed} of {report.Checks.Count} tensors fail[/]");
    }

    private static string Num(double v) => double.IsNaN(v) ? "-" : v.ToString("G3", CultureInfo.InvariantCulture);
}
