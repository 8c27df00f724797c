namespace BayesPfl.Engine.Data.Synthetic;

/// <summary>The synthetic objects, drawn over a background: top views of a machined disc, a bottle, a hex nut and a pill.</summary>
internal static class ObjectShapes
{
    private delegate (float, float, float)? Shader(float u, float v, float r);

    public static void Draw(string category, Canvas image, bool[] support, Noise noise, SplitMix rng, Func<float, float, float, (float, float, float)> tint)
    {
        var size = image.Size;
        float cx = size * (0.5f + rng.Range(-0.05f, 0.05f)), cy = size * (0.5f + rng.Range(-0.05f, 0.05f));
        var angle = rng.Range(0, MathF.PI);
        var (cos, sin) = (MathF.Cos(angle), MathF.Sin(angle));
        var scale = size * rng.Range(0.95f, 1.05f);
        Shader shader = category switch
        {
            "disc" => Disc(noise, tint),
            "bottle" => Bottle(tint),
            "nut" => Nut(noise, tint),
            "pill" => Pill(noise, tint),
            _ => throw new ArgumentException($"unknown synthetic object '{category}'", nameof(category)),
        };
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                // Object coordinates: centred, rotated, in units of the image side.
                float dx = (x + 0.5f - cx) / scale, dy = (y + 0.5f - cy) / scale;
                float u = dx * cos + dy * sin, v = -dx * sin + dy * cos;
                if (shader(u, v, MathF.Sqrt(u * u + v * v)) is not { } colour) continue;
                image.Set(x, y, colour);
                support[y * size + x] = true;
            }
    }

    private static Shader Disc(Noise noise, Func<float, float, float, (float, float, float)> tint) => (u, v, r) =>
    {
        if (r > 0.32f) return null;
        // Machining rings and a soft highlight towards the upper left.
        var l = 0.55f + 0.05f * MathF.Sin(r * 260) + 0.15f * (-u - v) + 0.05f * (noise.Value(u * 40 + 50, v * 40) - 0.5f);
        return tint(l, l * 1.02f, l * 1.05f);
    };

    private static Shader Bottle(Func<float, float, float, (float, float, float)> tint) => (_, _, r) =>
    {
        if (r > 0.38f) return null;
        if (r < 0.13f) return tint(0.03f, 0.03f, 0.03f);
        var l = r > 0.3f ? 0.3f + 0.25f * (0.38f - r) / 0.08f : 0.22f + 0.3f * (r - 0.13f);
        return tint(l * 0.8f, l * 1.05f, l * 0.8f);
    };

    private static Shader Nut(Noise noise, Func<float, float, float, (float, float, float)> tint) => (u, v, r) =>
    {
        // A regular hexagon of inner radius 0.3: the largest projection onto the three face normals.
        var hex = MathF.Max(MathF.Abs(u), MathF.Max(MathF.Abs(0.5f * u + 0.8660254f * v), MathF.Abs(0.5f * u - 0.8660254f * v)));
        if (hex > 0.3f || r < 0.12f) return null;
        var l = r < 0.16f ? 0.35f : 0.5f + 0.08f * (noise.Value(u * 30, v * 30 + 20) - 0.5f) + 0.1f * (hex > 0.27f ? 1 : 0);
        return tint(l * 1.05f, l, l * 0.9f);
    };

    private static Shader Pill(Noise noise, Func<float, float, float, (float, float, float)> tint) => (u, v, _) =>
    {
        // A capsule: points within 0.14 of the segment u in [-0.22, 0.22], v = 0.
        var du = MathF.Max(MathF.Abs(u) - 0.22f, 0);
        if (du * du + v * v > 0.14f * 0.14f) return null;
        var speck = noise.Value(u * 90 + 7, v * 90) > 0.9f;
        var l = 0.85f - 0.15f * MathF.Abs(v) / 0.14f;
        return speck ? tint(0.7f, 0.25f, 0.2f) : tint(l, l * 0.98f, l * 0.92f);
    };
}
