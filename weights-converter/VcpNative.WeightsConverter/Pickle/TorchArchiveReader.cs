// Reads PyTorch zip archives (torch.save checkpoints and TorchScript modules): restricted unpickle of data.pkl,
// storages mapped from <prefix>/data/<key>, and the object tree flattened to dotted state_dict names.
using System.Globalization;

namespace VcpNative.WeightsConverter.Pickle;

public static class TorchArchiveReader
{
    public static WeightSet Read(string path) => MappedFile.OpenOwnedBy(path, Read);

    internal static WeightSet Read(MappedFile file)
    {
        var path = file.Path;
        var zip = Zip.StoredZipArchive.Open(file);
        var pickleEntry = FindDataPickle(zip);
        var prefix = pickleEntry.Name[..^"data.pkl".Length];
        if (zip.TryGetEntry(prefix + "byteorder", out var byteOrder))
        {
            var order = System.Text.Encoding.ASCII.GetString(zip.ReadAll(byteOrder)).Trim();
            if (order != "little")
                throw new ModelFormatException(path, zip.DataOffset(byteOrder), null, $"byteorder is '{order}', only 'little' is supported");
        }
        var isTorchScript = zip.TryGetEntry(prefix + "constants.pkl", out _);

        var storages = new Dictionary<string, PickleStorage>(StringComparer.Ordinal);
        PickleValue LoadStorage(PickleTuple pid, long offset) => ResolveStorage(zip, prefix + "data/", pid, offset, storages);

        var pickleBytes = zip.ReadAll(pickleEntry);
        var baseOffset = pickleEntry.Method == 0 ? zip.DataOffset(pickleEntry) : 0;
        var tree = new RestrictedUnpickler(pickleBytes, path, pickleEntry.Name, baseOffset, LoadStorage).Load();

        var tensors = new List<WeightTensor>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        new TreeFlattener(path, tensors, metadata, MaxTreeNodes(pickleBytes.Length)).Walk(tree, "", insideModule: false, depth: 0);
        return new WeightSet(path, isTorchScript ? WeightFileFormat.TorchScript : WeightFileFormat.TorchSave, tensors, metadata, file, tree);
    }

    private static Zip.ZipEntryInfo FindDataPickle(Zip.StoredZipArchive zip)
    {
        // torch.save writes "<name>/data.pkl"; the shortest such path is the archive's own (code/ may hold others).
        Zip.ZipEntryInfo? best = null;
        foreach (var e in zip.Entries)
        {
            if ((e.Name == "data.pkl" || e.Name.EndsWith("/data.pkl", StringComparison.Ordinal)) && (best is null || e.Name.Length < best.Name.Length))
                best = e;
        }
        return best ?? throw new ModelFormatException(zip.Path, null, null, "zip archive has no data.pkl entry; not a PyTorch checkpoint");
    }

    private static PickleStorage ResolveStorage(Zip.StoredZipArchive zip, string dataFolder, PickleTuple pid, long offset, Dictionary<string, PickleStorage> storages)
    {
        // ('storage', storage_type, key, location, numel)
        var items = pid.Items;
        if (items.Length < 5 || items[0] is not PickleString { Value: "storage" } || items[1] is not PickleGlobal type
            || items[2] is not PickleString key || items[4] is not PickleInt numel)
            throw new ModelFormatException(zip.Path, offset, null, "persistent id must be ('storage', type, key, location, numel)");
        if (storages.TryGetValue(key.Value, out var existing)) return existing;
        WeightDType dtype;
        if (type.Module == "torch" && type.Name == "UntypedStorage") dtype = WeightDType.U8;
        else if (type.Module != "torch" || !WeightDTypeInfo.TryParseTorchStorageName(type.Name, out dtype))
            throw new ModelFormatException(zip.Path, offset, null, $"storage type '{type.FullName}' is not supported");
        if (!zip.TryGetEntry(dataFolder + key.Value, out var entry))
            throw new ModelFormatException(zip.Path, offset, null, $"storage '{key.Value}' has no zip entry '{dataFolder}{key.Value}'");
        long needed;
        try
        {
            needed = checked(numel.Value * WeightDTypeInfo.ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw new ModelFormatException(zip.Path, offset, null, $"storage '{key.Value}' element count {numel.Value} is too large");
        }
        if (numel.Value < 0 || entry.Size < needed)
            throw new ModelFormatException(zip.Path, entry.LocalHeaderOffset, null, $"storage '{key.Value}' of {numel.Value} x {dtype}: expected {needed} bytes, found {entry.Size} (file truncated?)");
        var storage = new PickleStorage(dtype, numel.Value, zip.OpenStorage(entry), key.Value);
        storages[key.Value] = storage;
        return storage;
    }

    /// <summary>Turns the unpickled tree into dotted tensor names (dict keys, module attributes, list indices).</summary>
    /// <summary>Deeper nesting than any checkpoint has (CLIP's is under 10; JSON readers stop at 64 too): the walk
    /// below recurses, and a pickle of nested lists 200 000 deep overflowed the stack.</summary>
    internal const int MaxTreeDepth = 64;

    /// <summary>A tree may share nodes (memo references), so walking it can visit more nodes than the pickle has
    /// opcodes; more than 8 per pickle byte (plus slack) means a reference bomb such as [L, L] nested 60 times.</summary>
    internal static long MaxTreeNodes(long pickleBytes) => (8 * pickleBytes) + 1024;

    private sealed class TreeFlattener(string path, List<WeightTensor> tensors, Dictionary<string, string> metadata, long maxNodes)
    {
        private long _nodes;

        public void Walk(PickleValue value, string name, bool insideModule, int depth)
        {
            if (depth > MaxTreeDepth)
                throw new ModelFormatException(path, null, name, $"object tree nests deeper than {MaxTreeDepth} levels (a self-referencing or hostile pickle?)");
            if (++_nodes > maxNodes)
                throw new ModelFormatException(path, null, name, $"object tree expands to more than {maxNodes} nodes through shared references (a reference bomb?)");
            depth++;
            switch (value)
            {
                case PickleTensor t:
                    tensors.Add(t.Tensor.WithName(name));
                    break;
                case PickleDict dict:
                    foreach (var (k, v) in dict.Entries) Walk(v, Join(name, KeyText(k)), insideModule, depth);
                    break;
                case PickleObject module:
                    // A TorchScript module's BUILD state is its attribute dict: submodules, parameters, buffers, flags.
                    if (module.State is PickleDict state)
                        foreach (var (k, v) in state.Entries) Walk(v, Join(name, KeyText(k)), insideModule: true, depth);
                    break;
                case PickleList list:
                    for (var i = 0; i < list.Items.Count; i++) Walk(list.Items[i], Join(name, i.ToString(CultureInfo.InvariantCulture)), insideModule, depth);
                    break;
                case PickleTuple tuple:
                    for (var i = 0; i < tuple.Items.Length; i++) Walk(tuple.Items[i], Join(name, i.ToString(CultureInfo.InvariantCulture)), insideModule, depth);
                    break;
                case PickleInt or PickleFloat or PickleString or PickleBool:
                    // Checkpoint scalars (epoch, lr, ...) are useful metadata; module flags such as `training` are not.
                    if (!insideModule && name.Length > 0) metadata[name] = value.ToString()!;
                    break;
            }
        }

        private string KeyText(PickleValue key) => key switch
        {
            PickleString s => s.Value,
            PickleInt i => i.ToString(),
            _ => throw new ModelFormatException(path, null, null, $"dict key of type {key.Kind} cannot name a tensor"),
        };

        private static string Join(string prefix, string key) => prefix.Length == 0 ? key : prefix + "." + key;
    }
}
