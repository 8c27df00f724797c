namespace BayesPfl.Engine.Data.Synthetic;

/// <summary>Smooth value noise on an integer lattice hashed from a seed, and its fractal (octave) sum, in [0, 1].</summary>
internal readonly struct Noise(ulong seed)
{
    private float Lattice(int x, int y)
    {
        var h = seed ^ ((ulong)(uint)x * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)y * 0xC2B2AE3D27D4EB4FUL);
        h = (h ^ (h >> 31)) * 0xBF58476D1CE4E5B9UL;
        h ^= h >> 29;
        return (h >> 40) * (1f / (1 << 24));
    }

    public float Value(float x, float y)
    {
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float fx = x - x0, fy = y - y0;
        // Smoothstep weights give C1 continuity, so no lattice grid shows in the textures.
        fx = fx * fx * (3 - 2 * fx);
        fy = fy * fy * (3 - 2 * fy);
        var top = Lattice(x0, y0) + (Lattice(x0 + 1, y0) - Lattice(x0, y0)) * fx;
        var bottom = Lattice(x0, y0 + 1) + (Lattice(x0 + 1, y0 + 1) - Lattice(x0, y0 + 1)) * fx;
        return top + (bottom - top) * fy;
    }

    public float Fractal(float x, float y, int octaves)
    {
        float sum = 0, amplitude = 0.5f, total = 0;
        for (var o = 0; o < octaves; o++, x *= 2, y *= 2, amplitude *= 0.5f)
        {
            sum += amplitude * Value(x, y);
            total += amplitude;
        }
        return sum / total;
    }
}
