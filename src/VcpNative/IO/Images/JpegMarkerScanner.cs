// Marker codes, their names for error messages, and the search for the next marker after entropy-coded data.
namespace VcpNative.IO.Images;

internal static class JpegMarkerScanner
{
    public const int Sof0 = 0xC0, Sof1 = 0xC1, Sof2 = 0xC2, Dht = 0xC4, Rst0 = 0xD0, Soi = 0xD8, Eoi = 0xD9,
        Sos = 0xDA, Dqt = 0xDB, Dnl = 0xDC, Dri = 0xDD, App0 = 0xE0, App14 = 0xEE;

    /// <summary>Offset of the next marker's 0xFF at or after start (skipping stuffed 0xFF00 and fill bytes), or -1 at end of data.</summary>
    public static int FindNextMarker(ReadOnlySpan<byte> data, int start)
    {
        for (int i = start; i + 1 < data.Length; i++)
        {
            if (data[i] == 0xFF)
            {
                byte next = data[i + 1];
                if (next != 0 && next != 0xFF)
                {
                    return i;
                }
            }
        }

        return -1;
    }

    public static string Name(int marker) => marker switch
    {
        0xC0 => "SOF0, baseline DCT",
        0xC1 => "SOF1, extended sequential DCT",
        0xC2 => "SOF2, progressive DCT",
        0xC3 => "SOF3, lossless",
        0xC5 => "SOF5, differential sequential DCT",
        0xC6 => "SOF6, differential progressive DCT",
        0xC7 => "SOF7, differential lossless",
        0xC8 => "JPG extension",
        0xC9 => "SOF9, arithmetic-coded sequential DCT",
        0xCA => "SOF10, arithmetic-coded progressive DCT",
        0xCB => "SOF11, arithmetic-coded lossless",
        0xCC => "DAC, arithmetic coding conditioning",
        0xCD => "SOF13, arithmetic-coded differential sequential DCT",
        0xCE => "SOF14, arithmetic-coded differential progressive DCT",
        0xCF => "SOF15, arithmetic-coded differential lossless",
        Dht => "DHT",
        >= 0xD0 and <= 0xD7 => $"RST{marker - 0xD0}",
        Soi => "SOI",
        Eoi => "EOI",
        Sos => "SOS",
        Dqt => "DQT",
        Dnl => "DNL",
        Dri => "DRI",
        >= 0xE0 and <= 0xEF => $"APP{marker - 0xE0}",
        0xFE => "COM",
        _ => "unknown",
    };
}
