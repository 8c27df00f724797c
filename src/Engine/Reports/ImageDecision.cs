namespace BayesPfl.Engine.Reports;

/// <summary>
/// The per-image score that `infer` thresholds for its normal/anomalous decision, and that `eval --save-threshold`
/// fits the threshold on. The paper's image score (spec 8) min-max normalises p_img and s_map over a whole test
/// category, which one image on its own cannot do; this is the same 0.5/0.5 mix without the normalisation. Both
/// terms are already in [0,1] (p_img is a softmax probability, s_map a mean of sigmoids), so the mix is too, and
/// it keeps the map evidence that p_img alone lacks. Pixels are thresholded on the sigma-8 blurred map.
/// </summary>
public static class ImageDecision
{
    /// <summary>The score's name in the threshold sidecar and the infer records.</summary>
    public const string ScoreKind = "0.5*p_img+0.5*s_map";

    /// <summary>The pixel score's name in the threshold sidecar.</summary>
    public const string PixelScoreKind = "sigma-8 blurred anomaly map";

    /// <summary>Used when neither --threshold nor a sidecar gives one: the middle of the [0,1] range.</summary>
    public const double DefaultThreshold = 0.5;

    /// <summary>The score in float32, the precision the metric sweep compares in, so that eval and infer decide alike.</summary>
    public static float Score(double pImg, double sMap) => (float)(0.5 * pImg + 0.5 * sMap);

    public static bool IsAnomalous(double pImg, double sMap, double threshold) => Score(pImg, sMap) >= threshold;
}
