using BayesPfl.Tests.Ops.Attention;
using Xunit;
using static BayesPfl.Tests.Ops.Attention.AttentionShapeTests;

namespace BayesPfl.Tests.Ops.Vision;

/// <summary>PatchEmbed and UpsampleBilinear reject mismatched tensors before launching, naming them.</summary>
public class VisionShapeTests
{
    public static TheoryData<string> Backends => AttentionShapeTests.Backends;

    [Theory]
    [MemberData(nameof(Backends))]
    public void PatchEmbedRejectsBadShapes(string backend)
    {
        using var be = Make(backend);
        var w = be.Allocate(new([5, 3, 14, 14]), "w");
        var y = be.Allocate(new([1, 2, 5]), "y");
        Expect(() => be.PatchEmbed(y, be.Allocate(new([1, 3, 14, 30]), "image_30"), w), "PatchEmbed", "image_30", "multiples of the patch size 14");
        Expect(() => be.PatchEmbed(y, be.Allocate(new([1, 2, 14, 28]), "image_2ch"), w), "PatchEmbed", "w", "[5,2,14,14]");
        Expect(() => be.PatchEmbed(y, be.Allocate(new([1, 3, 14, 28]), "image"), be.Allocate(new([5, 3, 14, 7]), "w_rect")), "PatchEmbed", "w_rect", "square");
        Expect(() => be.PatchEmbed(be.Allocate(new([1, 3, 5]), "y_bad"), be.Allocate(new([1, 3, 14, 28]), "image"), w), "PatchEmbed", "y_bad", "[1,2,5]");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void UpsampleRejectsBadShapes(string backend)
    {
        using var be = Make(backend);
        var x = be.Allocate(new([4, 7, 7]), "x");
        Expect(() => be.UpsampleBilinear(be.Allocate(new([3, 33, 33]), "y_bad"), x), "UpsampleBilinear", "y_bad", "x");
        Expect(() => be.UpsampleBilinear(be.Allocate(new([4, 2, 33, 33]), "y_rank"), x), "UpsampleBilinear", "y_rank", "last two dims");
        Expect(() => be.UpsampleBilinear(be.Allocate(new([33]), "y_flat"), x), "UpsampleBilinear", "y_flat", "rank >= 2");
        Expect(() => be.UpsampleBilinearBackward(be.Allocate(new([5, 7, 7]), "dx_bad"), be.Allocate(new([4, 33, 33]), "dy")),
            "UpsampleBilinearBackward", "dx_bad", "dy");
        Expect(() => be.UpsampleBilinear(be.Allocate(new([4, 0, 3]), "y_empty"), x), "UpsampleBilinear", "y_empty", ">= 1");
    }
}
