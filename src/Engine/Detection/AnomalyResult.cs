namespace BayesPfl.Engine.Detection;

/// <summary>
/// One image's result (spec 8). Maps are row-major. The two scores are raw (no min-max: that needs a whole
/// test set of the category).
/// </summary>
/// <param name="Path">The image file.</param>
/// <param name="PImg">Image-level anomaly probability.</param>
/// <param name="SMap">Mean of the <paramref name="TopK"/> largest values of the unsmoothed <paramref name="Map"/>.</param>
/// <param name="TopK">k used for <paramref name="SMap"/>.</param>
/// <param name="MapSize">Side of the square maps (the engine's input size, 518 for ViT-L/14 at 518 px).</param>
/// <param name="Map">Unsmoothed anomaly map [MapSize, MapSize].</param>
/// <param name="Blurred"><paramref name="Map"/> after the sigma-8 Gaussian blur.</param>
/// <param name="ImageWidth">Width of the input image.</param>
/// <param name="ImageHeight">Height of the input image.</param>
/// <param name="BlurredAtImageSize"><paramref name="Blurred"/> resized bilinearly to [ImageHeight, ImageWidth].</param>
public sealed record AnomalyResult(
    string Path, double PImg, double SMap, int TopK, int MapSize, float[] Map, float[] Blurred,
    int ImageWidth, int ImageHeight, float[] BlurredAtImageSize);
