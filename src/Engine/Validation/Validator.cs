using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Detection;

namespace BayesPfl.Engine.Validation;

/// <summary>What `bayespfl validate` checked: every compared tensor and the dump tensors it could not use.</summary>
public sealed record ValidationReport(
    string DumpPath, DumpKind Kind, string ClipPath, string? HeadPath, string Backend,
    IReadOnlyList<TensorCheck> Checks, IReadOnlyList<string> NotChecked)
{
    public bool Passed => Checks.Count > 0 && Checks.All(c => c.Passed);
}

/// <summary>
/// Runs the engine on the inputs of a reference dump (docs/reference-dumps.md) and compares its outputs with the
/// dump's under the per-kind <see cref="Tolerance"/>. Errors in the dump or the engine files (wrong kind of file,
/// missing inputs, shapes that do not fit the model) are <see cref="InvalidDataException"/>s naming the file.
/// </summary>
public static class Validator
{
    /// <param name="referencePath">The dump.</param>
    /// <param name="clipPath">CLIP engine file; null takes the dump's metadata ("weights" or "clip").</param>
    /// <param name="headPath">Head engine file (pipeline dumps); null takes metadata "head".</param>
    /// <param name="openBackend">Makes the backend to run on, once the files are found; the validator disposes it.</param>
    /// <param name="progress">Told the phase about to run (a long one at full size).</param>
    public static ValidationReport Run(string referencePath, string? clipPath, string? headPath, Func<IBackend> openBackend, Action<string>? progress = null)
    {
        progress ??= _ => { };
        using var dump = ReferenceDump.Open(referencePath);
        if (dump.Kind == DumpKind.ClipTowers)
        {
            var clip = dump.EngineFile(clipPath, ReferenceNames.WeightsKey, "--clip");
            var backend = openBackend();
            var name = backend.Name;
            var checks = TowerValidation.Run(dump, backend, clip, progress);
            return new ValidationReport(dump.Path, dump.Kind, clip, null, name, checks, NotChecked(dump, checks, IsTowerInput));
        }
        var clipFile = dump.EngineFile(clipPath, ReferenceNames.ClipKey, "--clip");
        var headFile = dump.EngineFile(headPath, ReferenceNames.HeadKey, "--head");
        var pipelineBackend = openBackend();
        var backendName = pipelineBackend.Name;
        var stageChecks = PipelineValidation.Run(dump, pipelineBackend, clipFile, headFile, progress);
        return new ValidationReport(dump.Path, dump.Kind, clipFile, headFile, backendName, stageChecks, NotChecked(dump, stageChecks, IsPipelineInput));
    }

    /// <summary>As <see cref="Run(string, string?, string?, Func{IBackend}, Action{string}?)"/> on the backend <paramref name="device"/> picks.</summary>
    public static ValidationReport Run(string referencePath, string? clipPath, string? headPath, DetectorDevice device, Action<string>? progress = null) =>
        Run(referencePath, clipPath, headPath, () => DeviceBackends.Open(device), progress);

    private static bool IsTowerInput(string name) => name is ReferenceNames.Images or ReferenceNames.Ids or ReferenceNames.SpliceIds or ReferenceNames.Inject;

    private static bool IsPipelineInput(string name) => name is ReferenceNames.Images or ReferenceNames.SpliceIds or ReferenceNames.Eps;

    /// <summary>Dump tensors that are neither inputs nor compared (e.g. pipeline_oracle.py's spread.* statistics, or a misspelt name).</summary>
    private static List<string> NotChecked(ReferenceDump dump, List<TensorCheck> checks, Func<string, bool> isInput)
    {
        var compared = checks.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        return dump.File.Entries.OrderBy(e => e.Begin).Select(e => e.Name).Where(n => !isInput(n) && !compared.Contains(n)).ToList();
    }
}
