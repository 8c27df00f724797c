namespace BayesPfl.Engine.Weights.Torch;

// The Python values a checkpoint pickle may hold, as plain inert data. Strings, ints (long), floats (double),
// bools, None (null) and bytes (byte[]) use the CLR types directly.

/// <summary>A reference to a Python global (module + name) that the reader has allowed; never resolved to code.</summary>
public sealed record PyGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;

    public override string ToString() => FullName;
}

/// <summary>A Python tuple.</summary>
public sealed class PyTuple(object?[] items)
{
    public object?[] Items { get; } = items;

    public int Count => Items.Length;

    public object? this[int i] => Items[i];
}

/// <summary>A Python list.</summary>
public sealed class PyList : List<object?>
{
}

/// <summary>A Python dict (or collections.OrderedDict): insertion-ordered; a repeated key replaces the value in place.</summary>
public sealed class PyDict
{
    private readonly List<KeyValuePair<object?, object?>> entries = new();
    private readonly Dictionary<object, int> index = new();

    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => entries;

    public int Count => entries.Count;

    public void Set(object? key, object? value)
    {
        if (key is not null && index.TryGetValue(key, out var at))
        {
            entries[at] = new(key, value);
            return;
        }
        if (key is not null) index[key] = entries.Count;
        entries.Add(new(key, value));
    }

    public bool TryGet(string key, out object? value)
    {
        if (index.TryGetValue(key, out var at))
        {
            value = entries[at].Value;
            return true;
        }
        value = null;
        return false;
    }
}

/// <summary>
/// An instance of a TorchScript class (`__torch__.*`, e.g. a scripted or traced nn.Module) rebuilt as an inert
/// record: its class name and the state BUILD gave it (for modules, a dict of attribute name to value).
/// </summary>
public sealed class PyObject(string className)
{
    public string ClassName { get; } = className;

    public object? State { get; set; }

    /// <summary>The attributes when the state is a dict with string keys (how TorchScript stores modules).</summary>
    public IEnumerable<KeyValuePair<string, object?>> Attributes =>
        State is PyDict d ? d.Entries.Where(e => e.Key is string).Select(e => new KeyValuePair<string, object?>((string)e.Key!, e.Value)) : [];
}
