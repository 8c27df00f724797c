namespace BayesPfl.Engine.Training;

/// <summary>The stage-1 Adam parameter groups of spec §9.4 and their base learning rates.</summary>
public enum ParamGroup
{
    Prompts,
    Temperatures,
    Flow,
    Rest,
}

public static class ParamGroups
{
    public const double Beta1 = 0.5;
    public const double Beta2 = 0.999;
    public const double Eps = 1e-8;

    /// <summary>Stage 2 (class_mapping, image_mapping, fuse): one group, constant learning rate.</summary>
    public const double StageTwoLr = 1e-4;

    public static double BaseLr(ParamGroup g) => g switch
    {
        ParamGroup.Prompts => 1e-3,
        ParamGroup.Temperatures => 1e-2,
        ParamGroup.Flow => 1e-3,
        ParamGroup.Rest => 1e-4,
        _ => throw new ArgumentOutOfRangeException(nameof(g), g, "unknown parameter group"),
    };

    /// <summary>The group of a checkpoint tensor name (spec §12.1 names): prompts, temperatures, the flows' own
    /// parameters (amor_u/w/b, state, p_mu of PFL_*), and everything else.</summary>
    public static ParamGroup Of(string name)
    {
        if (name.StartsWith("prompt_", StringComparison.Ordinal)) return ParamGroup.Prompts;
        if (name.StartsWith("temperature_", StringComparison.Ordinal)) return ParamGroup.Temperatures;
        if (name.StartsWith("PFL_", StringComparison.Ordinal))
        {
            var member = name.Split('.')[1];
            if (member is "amor_u" or "amor_w" or "amor_b" or "state" or "p_mu") return ParamGroup.Flow;
        }
        return ParamGroup.Rest;
    }

    /// <summary>Stage 2 trains only these modules (spec §9.3).</summary>
    public static bool InStageTwo(string name) =>
        name.StartsWith("class_mapping.", StringComparison.Ordinal) || name.StartsWith("image_mapping.", StringComparison.Ordinal)
        || name.StartsWith("fuse.", StringComparison.Ordinal);
}
