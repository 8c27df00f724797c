namespace BayesPfl.Engine.Data.Synthetic;

/// <summary>
/// Paints one defect onto a scene and returns its exact binary mask. Each defect is a coverage map in [0, 1] (soft
/// edges) and a colour; the image is blended with it inside the product's support, and the mask is the supported
/// pixels with coverage at least one half, so mask boundaries fall in the middle of the blended edge.
/// </summary>
internal static class Defects
{
    public static readonly string[] Types = ["scratch", "crack", "hole", "stain", "missing"];

    private delegate (float, float, float) Colour(int x, int y, (float R, float G, float B) under);

    public static bool[] Apply(string defect, Scene scene, SplitMix rng)
    {
        var size = scene.Image.Size;
        // Too small a defect is invisible at 518 px after resizing, and an empty mask would make the image "normal";
        // redraw until it covers at least 0.1 % of the image (a 4x4 spot at 128 px).
        var minimum = Math.Max(6, size * size / 1000);
        for (var attempt = 0; ; attempt++)
        {
            var coverage = new float[size * size];
            var colour = Draw(defect, scene, coverage, rng);
            var mask = new bool[size * size];
            var count = 0;
            for (var i = 0; i < mask.Length; i++)
                if (scene.Support[i] && coverage[i] >= 0.5f) { mask[i] = true; count++; }
            if (count < minimum && attempt < 50) continue;
            if (count == 0) throw new InvalidOperationException($"could not place a {defect} defect on this scene");
            Blend(scene, coverage, colour);
            return mask;
        }
    }

    private static void Blend(Scene scene, float[] coverage, Colour colour)
    {
        var size = scene.Image.Size;
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var i = y * size + x;
                var a = scene.Support[i] ? coverage[i] : 0f;
                if (a <= 0) continue;
                var under = scene.Image.Get(x, y);
                var (r, g, b) = colour(x, y, under);
                scene.Image.Set(x, y, (under.R + (r - under.R) * a, under.G + (g - under.G) * a, under.B + (b - under.B) * a));
            }
    }

    private static Colour Draw(string defect, Scene scene, float[] coverage, SplitMix rng)
    {
        var size = scene.Image.Size;
        var s = size / 128f;
        var (x0, y0) = PointOnSupport(scene, rng);
        switch (defect)
        {
            case "scratch":
            {
                var length = rng.Range(0.2f, 0.45f) * size;
                var angle = rng.Range(0, 2 * MathF.PI);
                float x2 = x0 + length * MathF.Cos(angle), y2 = y0 + length * MathF.Sin(angle);
                var bend = rng.Range(-0.3f, 0.3f) * length;
                float mx = (x0 + x2) / 2 - bend * MathF.Sin(angle), my = (y0 + y2) / 2 + bend * MathF.Cos(angle);
                var radius = MathF.Max(0.9f, 0.8f * s);
                var steps = (int)(length * 2);
                for (var k = 0; k <= steps; k++)
                {
                    var t = k / (float)steps;
                    // Quadratic Bezier through the bent midpoint control.
                    float px = (1 - t) * (1 - t) * x0 + 2 * (1 - t) * t * mx + t * t * x2, py = (1 - t) * (1 - t) * y0 + 2 * (1 - t) * t * my + t * t * y2;
                    Stamp(coverage, size, px, py, radius);
                }
                var l = rng.Chance(0.5f) ? rng.Range(0.8f, 0.95f) : rng.Range(0.05f, 0.15f);
                return (_, _, _) => (l, l, l);
            }
            case "crack":
            {
                var walkers = new Stack<(float X, float Y, float Angle, int Steps)>();
                walkers.Push((x0, y0, rng.Range(0, 2 * MathF.PI), (int)(rng.Range(35, 70) * s)));
                var radius = MathF.Max(0.7f, 0.6f * s);
                while (walkers.Count > 0)
                {
                    var (x, y, a, n) = walkers.Pop();
                    for (var k = 0; k < n; k++)
                    {
                        a += 0.35f * rng.Gaussian();
                        x += MathF.Cos(a) * s;
                        y += MathF.Sin(a) * s;
                        Stamp(coverage, size, x, y, radius);
                        if (rng.Chance(0.04f) && walkers.Count < 6)
                            walkers.Push((x, y, a + (rng.Chance(0.5f) ? 0.7f : -0.7f), (n - k) / 2));
                    }
                }
                return (_, _, u) => (u.R * 0.2f, u.G * 0.2f, u.B * 0.2f);
            }
            case "hole":
            {
                float ra = rng.Range(0.04f, 0.08f) * size, rb = ra * rng.Range(0.6f, 1f), t = rng.Range(0, MathF.PI);
                var (cos, sin) = (MathF.Cos(t), MathF.Sin(t));
                const float rim = 1.3f;
                var q = new float[size * size];
                ForBox(size, x0, y0, ra * rim + 2, (x, y, i) =>
                {
                    float dx = x + 0.5f - x0, dy = y + 0.5f - y0, u = (dx * cos + dy * sin) / ra, v = (-dx * sin + dy * cos) / rb;
                    q[i] = MathF.Sqrt(u * u + v * v);
                    // Soft edge about one pixel wide at the outer rim.
                    coverage[i] = Math.Clamp((rim - q[i]) * rb + 0.5f, 0, 1);
                });
                return (x, y, u) => q[y * size + x] < 1 ? (0.03f, 0.03f, 0.03f) : (u.R + 0.25f, u.G + 0.25f, u.B + 0.25f);
            }
            case "stain":
            {
                var sigma = rng.Range(0.025f, 0.05f) * size;
                var blobs = Enumerable.Range(0, rng.Int(3, 7))
                    .Select(_ => (X: x0 + rng.Gaussian() * sigma, Y: y0 + rng.Gaussian() * sigma, S: sigma * rng.Range(0.6f, 1.2f))).ToList();
                ForBox(size, x0, y0, 5 * sigma, (x, y, i) =>
                {
                    var f = blobs.Sum(b => MathF.Exp(-((x - b.X) * (x - b.X) + (y - b.Y) * (y - b.Y)) / (2 * b.S * b.S)));
                    var e = Math.Clamp((f - 0.3f) / 0.4f, 0, 1);
                    coverage[i] = e * e * (3 - 2 * e);
                });
                var colour = (rng.Range(0.3f, 0.6f), rng.Range(0.15f, 0.4f), rng.Range(0.05f, 0.3f));
                var opacity = rng.Range(0.7f, 0.9f);
                return (_, _, u) => (u.R + (colour.Item1 - u.R) * opacity, u.G + (colour.Item2 - u.G) * opacity, u.B + (colour.Item3 - u.B) * opacity);
            }
            case "missing":
                return Missing(scene, coverage, rng, x0, y0);
            default:
                throw new ArgumentException($"unknown defect type '{defect}' (known: {string.Join(", ", Types)})", nameof(defect));
        }
    }

    /// <summary>Cuts a piece off: on objects everything beyond a chord near the rim, on textures an irregular polygon.</summary>
    private static Colour Missing(Scene scene, float[] coverage, SplitMix rng, float x0, float y0)
    {
        var size = scene.Image.Size;
        var behind = scene.Behind;
        if (scene.Support.Any(s => !s))
        {
            var (cx, cy, reach) = Extent(scene);
            var angle = rng.Range(0, 2 * MathF.PI);
            float nx = MathF.Cos(angle), ny = MathF.Sin(angle), cut = reach * rng.Range(0.55f, 0.75f);
            ForBox(size, cx, cy, size, (x, y, i) => coverage[i] = (x + 0.5f - cx) * nx + (y + 0.5f - cy) * ny > cut ? 1 : 0);
        }
        else
        {
            var corners = rng.Int(5, 9);
            var radii = Enumerable.Range(0, corners).Select(_ => rng.Range(0.05f, 0.11f) * size).ToArray();
            ForBox(size, x0, y0, 0.11f * size + 1, (x, y, i) =>
            {
                float dx = x + 0.5f - x0, dy = y + 0.5f - y0;
                // Radius of the star-shaped polygon in this direction, interpolated between its corners.
                var t = (MathF.Atan2(dy, dx) / (2 * MathF.PI) + 1) % 1 * corners;
                var k = (int)t % corners;
                var r = radii[k] + (radii[(k + 1) % corners] - radii[k]) * (t - MathF.Floor(t));
                coverage[i] = dx * dx + dy * dy <= r * r ? 1 : 0;
            });
        }
        return (x, y, _) => behind.Get(x, y);
    }

    private static (float X, float Y) PointOnSupport(Scene scene, SplitMix rng)
    {
        var size = scene.Image.Size;
        // Keep defects off the border, where the resize and crop of preprocessing would cut them.
        var margin = size / 8;
        for (var tries = 0; tries < 10000; tries++)
        {
            int x = rng.Int(margin, size - margin), y = rng.Int(margin, size - margin);
            if (scene.Support[y * size + x]) return (x + 0.5f, y + 0.5f);
        }
        throw new InvalidOperationException("the scene has no product pixels to put a defect on");
    }

    private static (float X, float Y, float Reach) Extent(Scene scene)
    {
        var size = scene.Image.Size;
        double sx = 0, sy = 0;
        var n = 0;
        for (var i = 0; i < scene.Support.Length; i++)
            if (scene.Support[i]) { sx += i % size + 0.5; sy += i / size + 0.5; n++; }
        float cx = (float)(sx / n), cy = (float)(sy / n), reach = 0;
        for (var i = 0; i < scene.Support.Length; i++)
            if (scene.Support[i]) reach = MathF.Max(reach, MathF.Sqrt(MathF.Pow(i % size + 0.5f - cx, 2) + MathF.Pow(i / size + 0.5f - cy, 2)));
        return (cx, cy, reach);
    }

    /// <summary>Raises coverage to that of a disc of the given radius, with a one-pixel soft edge.</summary>
    private static void Stamp(float[] coverage, int size, float cx, float cy, float radius) =>
        ForBox(size, cx, cy, radius + 1, (x, y, i) =>
        {
            var d = MathF.Sqrt((x + 0.5f - cx) * (x + 0.5f - cx) + (y + 0.5f - cy) * (y + 0.5f - cy));
            coverage[i] = MathF.Max(coverage[i], Math.Clamp(radius + 0.5f - d, 0, 1));
        });

    private static void ForBox(int size, float cx, float cy, float half, Action<int, int, int> body)
    {
        int xa = Math.Max(0, (int)(cx - half)), xb = Math.Min(size - 1, (int)(cx + half) + 1);
        int ya = Math.Max(0, (int)(cy - half)), yb = Math.Min(size - 1, (int)(cy + half) + 1);
        for (var y = ya; y <= yb; y++)
            for (var x = xa; x <= xb; x++)
                body(x, y, y * size + x);
    }
}
