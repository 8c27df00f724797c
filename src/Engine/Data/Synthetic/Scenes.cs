namespace BayesPfl.Engine.Data.Synthetic;

/// <summary>A rendered defect-free image: where the product is (defects are kept on it) and what lies behind it.</summary>
internal sealed record Scene(Canvas Image, bool[] Support, Canvas Behind);

/// <summary>
/// The synthetic categories: four textures that fill the frame and four objects on a plain background, each with
/// random pose, colour and texture per image, so that normal images vary and a detector cannot just memorise one.
/// </summary>
internal static class Scenes
{
    public static readonly string[] Textures = ["fabric", "wood", "grid", "stone"];
    public static readonly string[] Objects = ["disc", "bottle", "nut", "pill"];

    public static bool IsObject(string category) => Objects.Contains(category);

    public static Scene Render(string category, int size, SplitMix rng)
    {
        var noise = new Noise(rng.Next());
        var image = new Canvas(size);
        var s = size / 128f;
        var tint = (rng.Range(-0.06f, 0.06f), rng.Range(-0.06f, 0.06f), rng.Range(-0.06f, 0.06f));
        (float, float, float) Tinted(float r, float g, float b) => (r + tint.Item1, g + tint.Item2, b + tint.Item3);
        Func<int, int, (float, float, float)> texture = category switch
        {
            "fabric" => Fabric(noise, rng, s, Tinted),
            "wood" => Wood(noise, rng, size, Tinted),
            "grid" => Grid(noise, rng, s, Tinted),
            "stone" => Stone(noise, s, Tinted),
            "disc" or "bottle" or "nut" or "pill" => (x, y) => Shade(Tinted(0.22f, 0.24f, 0.26f), 0.06f * (noise.Fractal(x / (24 * s), y / (24 * s), 3) - 0.5f)),
            _ => throw new ArgumentException($"unknown synthetic category '{category}'", nameof(category)),
        };
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
                image.Set(x, y, texture(x, y));
        var support = new bool[size * size];
        if (!IsObject(category))
        {
            Array.Fill(support, true);
            // Behind a texture is a dark void: a missing piece of cloth, wood or stone shows a hole.
            return new Scene(image, support, Fill(size, (0.05f, 0.05f, 0.06f)));
        }
        var behind = image.Clone();
        ObjectShapes.Draw(category, image, support, noise, rng, Tinted);
        return new Scene(image, support, behind);
    }

    public static (float, float, float) Shade((float R, float G, float B) c, float d) => (c.R + d, c.G + d, c.B + d);

    private static Canvas Fill(int size, (float, float, float) colour)
    {
        var c = new Canvas(size);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
                c.Set(x, y, colour);
        return c;
    }

    private static Func<int, int, (float, float, float)> Fabric(Noise noise, SplitMix rng, float s, Func<float, float, float, (float, float, float)> tint)
    {
        var period = rng.Range(3.5f, 5.5f) * s;
        var angle = rng.Range(-0.3f, 0.3f);
        var (cos, sin) = (MathF.Cos(angle), MathF.Sin(angle));
        return (x, y) =>
        {
            float u = (x * cos + y * sin) / period * MathF.PI, v = (-x * sin + y * cos) / period * MathF.PI;
            var weave = MathF.Sin(u) * MathF.Sin(v) * 0.5f + 0.5f;
            var n = noise.Fractal(x / (16 * s), y / (16 * s), 3);
            var l = 0.35f + 0.25f * weave + 0.15f * (n - 0.5f);
            return tint(l * 0.7f, l * 0.8f, l * 1.1f);
        };
    }

    private static Func<int, int, (float, float, float)> Wood(Noise noise, SplitMix rng, int size, Func<float, float, float, (float, float, float)> tint)
    {
        float cx = rng.Range(-0.5f, 1.5f) * size, cy = rng.Range(-1.5f, -0.5f) * size, rings = rng.Range(14f, 22f) / size;
        return (x, y) =>
        {
            var d = MathF.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy) * 0.15f);
            var grain = MathF.Sin((d * rings + 1.5f * noise.Fractal(x * 8f / size, y * 40f / size, 3)) * MathF.PI * 2) * 0.5f + 0.5f;
            var l = 0.45f + 0.2f * grain;
            return tint(l * 1.25f, l * 0.85f, l * 0.5f);
        };
    }

    private static Func<int, int, (float, float, float)> Grid(Noise noise, SplitMix rng, float s, Func<float, float, float, (float, float, float)> tint)
    {
        var period = rng.Range(9f, 13f) * s;
        var width = MathF.Max(1.5f, 2.2f * s);
        float ox = rng.Range(0, period), oy = rng.Range(0, period);
        return (x, y) =>
        {
            float fx = (x + ox) % period, fy = (y + oy) % period;
            var wire = MathF.Min(MathF.Min(fx, period - fx), MathF.Min(fy, period - fy)) < width / 2;
            var n = noise.Fractal(x / (20 * s), y / (20 * s), 2) - 0.5f;
            var l = wire ? 0.7f + 0.1f * n : 0.15f + 0.08f * n;
            return tint(l, l, l * 1.05f);
        };
    }

    private static Func<int, int, (float, float, float)> Stone(Noise noise, float s, Func<float, float, float, (float, float, float)> tint) => (x, y) =>
    {
        var n = noise.Fractal(x / (10 * s), y / (10 * s), 4);
        var speck = noise.Value(x / (1.5f * s) + 100, y / (1.5f * s));
        var l = 0.4f + 0.35f * (n - 0.5f) + (speck > 0.85f ? 0.15f : 0f);
        return tint(l * 1.05f, l, l * 0.95f);
    };
}
