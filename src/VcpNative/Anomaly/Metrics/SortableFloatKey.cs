// Maps float32 scores to uint32 keys whose unsigned order equals the float order, so ties and sorting work on integers.
namespace VcpNative.Anomaly.Metrics;

internal static class SortableFloatKey
{
    /// <summary>Key of a non-NaN float; -0 and +0 get the same key because they compare equal (sklearn groups them as one threshold).</summary>
    public static uint ToKey(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value == 0f ? 0f : value);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    public static float FromKey(uint key)
    {
        uint bits = (key & 0x8000_0000u) != 0 ? key & 0x7FFF_FFFFu : ~key;
        return BitConverter.UInt32BitsToSingle(bits);
    }
}
