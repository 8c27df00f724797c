using System.Text.Json.Serialization;

namespace BayesPfl.Engine.Weights;

/// <summary>Source-generated JSON for safetensors headers (NativeAOT has no reflection-based serializer).</summary>
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, object>[]))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(long[]))]
internal sealed partial class HeaderJsonContext : JsonSerializerContext
{
}
