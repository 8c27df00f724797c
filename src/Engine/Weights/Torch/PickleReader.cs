using System.Buffers.Binary;
using System.Text;

namespace BayesPfl.Engine.Weights.Torch;

/// <summary>
/// A safe unpickler for the protocol-2..5 subset that torch.save and torch.jit.save write. It is an interpreter of
/// the pickle stack machine that builds inert values only (see PyValues.cs): globals are checked against an
/// allow-list (<see cref="PickleGlobals"/>) the moment they are named, so `os.system`, `builtins.eval` and every
/// other callable are refused before anything could call them. Every length in the stream is checked against the
/// bytes actually left, so a corrupt length cannot make it allocate more than the pickle's own size. Every error
/// is an InvalidDataException naming the source and the byte offset of the opcode at fault.
/// </summary>
public sealed class PickleReader
{
    private static readonly object Mark = new();

    private readonly byte[] data;
    private readonly string source;
    private readonly Func<PyTuple, object?> persistentLoad;
    private readonly List<object?> stack = new();
    private readonly Stack<int> marks = new();
    private readonly Dictionary<long, object?> memo = new();
    private int pos;
    private int opStart;

    private PickleReader(byte[] data, string source, Func<PyTuple, object?> persistentLoad)
    {
        this.data = data;
        this.source = source;
        this.persistentLoad = persistentLoad;
    }

    /// <param name="data">the whole pickle</param>
    /// <param name="source">what to call it in errors, e.g. "model.pt:archive/data.pkl"</param>
    /// <param name="persistentLoad">resolves BINPERSID ids (torch storages); must itself be safe</param>
    public static object? Load(byte[] data, string source, Func<PyTuple, object?> persistentLoad) =>
        new PickleReader(data, source, persistentLoad).Run();

    private object? Run()
    {
        while (true)
        {
            opStart = pos;
            var op = Byte();
            switch (op)
            {
                case 0x80: Byte(); break; // PROTO: the version does not change how the opcodes below read
                case 0x95: Length(8, "FRAME"); break; // frames only group the opcodes that follow
                case (byte)'.': return Pop();
                case (byte)'(': marks.Push(stack.Count); stack.Add(Mark); break;
                case (byte)'}': stack.Add(new PyDict()); break;
                case (byte)']': stack.Add(new PyList()); break;
                case (byte)')': stack.Add(new PyTuple([])); break;
                case (byte)'t': stack.Add(new PyTuple(PopToMark())); break;
                case 0x85: stack.Add(new PyTuple(PopN(1))); break;
                case 0x86: stack.Add(new PyTuple(PopN(2))); break;
                case 0x87: stack.Add(new PyTuple(PopN(3))); break;
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': stack.Add((long)Byte()); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: stack.Add(Long(Take(Length(1, "LONG1")))); break;
                case 0x8b: stack.Add(Long(Take(Length(4, "LONG4")))); break;
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case 0x8c: stack.Add(Utf8(Take(Length(1, "SHORT_BINUNICODE")))); break;
                case (byte)'X': stack.Add(Utf8(Take(Length(4, "BINUNICODE")))); break;
                case 0x8d: stack.Add(Utf8(Take(Length(8, "BINUNICODE8")))); break;
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(Length(1, "SHORT_BINSTRING")))); break;
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(Length(4, "BINSTRING")))); break;
                case (byte)'C': stack.Add(Take(Length(1, "SHORT_BINBYTES")).ToArray()); break;
                case (byte)'B': stack.Add(Take(Length(4, "BINBYTES")).ToArray()); break;
                case 0x8e: stack.Add(Take(Length(8, "BINBYTES8")).ToArray()); break;
                case (byte)'q': memo[Byte()] = Peek(); break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case 0x94: memo[memo.Count] = Peek(); break;
                case (byte)'h': stack.Add(Memo(Byte())); break;
                case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'0': Pop(); break;
                case (byte)'1': PopToMark(); break;
                case (byte)'2': stack.Add(Peek()); break;
                case (byte)'a': Append(PopN(1)); break;
                case (byte)'e': Append(PopToMark()); break;
                case (byte)'s': SetItems(PopN(2)); break;
                case (byte)'u': SetItems(PopToMark()); break;
                case (byte)'c': stack.Add(Global(Line("GLOBAL module"), Line("GLOBAL name"))); break;
                case 0x93:
                    {
                        var name = Pop();
                        var module = Pop();
                        if (module is not string m || name is not string n) throw Fail("STACK_GLOBAL needs two strings");
                        stack.Add(Global(m, n));
                        break;
                    }
                case (byte)'R': Call(PopN(2), "REDUCE"); break;
                case 0x81: Call(PopN(2), "NEWOBJ"); break;
                case 0x92:
                    {
                        var a = PopN(3);
                        if (a[2] is PyDict { Count: > 0 }) throw Fail($"NEWOBJ_EX with keyword arguments for {a[0]} is not supported");
                        Call([a[0], a[1]], "NEWOBJ_EX");
                        break;
                    }
                case (byte)'b': Build(PopN(2)); break;
                case (byte)'Q':
                    {
                        if (Pop() is not PyTuple pid) throw Fail("BINPERSID id is not a tuple");
                        stack.Add(Guard(() => persistentLoad(pid)));
                        break;
                    }
                default:
                    throw Fail($"unsupported pickle opcode 0x{op:x2} ('{(op is >= 32 and < 127 ? (char)op : '?')}')");
            }
        }
    }

    private PyGlobal Global(string module, string name)
    {
        if (!PickleGlobals.IsAllowed(module, name))
            throw Fail($"refusing to load global '{module}.{name}': only torch tensor/storage rebuild functions, " +
                       "collections.OrderedDict and TorchScript __torch__.* classes are allowed (the reader never runs code from the file)");
        return new PyGlobal(module, name);
    }

    private void Call(object?[] fnArgs, string opName)
    {
        if (fnArgs[0] is not PyGlobal g) throw Fail($"{opName} on a {TypeName(fnArgs[0])}, not an allowed global");
        if (fnArgs[1] is not PyTuple args) throw Fail($"{opName} of {g} with {TypeName(fnArgs[1])} arguments, not a tuple");
        stack.Add(Guard(() => PickleGlobals.Call(g, args, newObj: opName != "REDUCE")));
    }

    private void Build(object?[] objState)
    {
        switch (objState[0])
        {
            case PyObject o: o.State = objState[1]; break;
            case PyDict or TorchTensor: break; // OrderedDict._metadata / Parameter.__dict__: nothing the weights need
            default: throw Fail($"BUILD on a {TypeName(objState[0])}");
        }
        stack.Add(objState[0]);
    }

    private void Append(object?[] items)
    {
        if (Peek() is not PyList list) throw Fail($"APPEND to a {TypeName(Peek())}, not a list");
        list.AddRange(items);
    }

    private void SetItems(object?[] kv)
    {
        if (Peek() is not PyDict dict) throw Fail($"SETITEM on a {TypeName(Peek())}, not a dict");
        if (kv.Length % 2 != 0) throw Fail("SETITEMS with an odd number of items");
        for (var i = 0; i < kv.Length; i += 2) dict.Set(kv[i], kv[i + 1]);
    }

    private object? Guard(Func<object?> f)
    {
        try
        {
            return f();
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
        {
            throw Fail(e.Message);
        }
    }

    private object? Memo(long key) => memo.TryGetValue(key, out var v) ? v : throw Fail($"memo key {key} was never stored");

    private object? Peek() => stack.Count > 0 && stack[^1] != Mark ? stack[^1] : throw Fail("stack underflow");

    private object? Pop()
    {
        var v = Peek();
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    private object?[] PopN(int n)
    {
        var start = stack.Count - n;
        if (start < 0 || (marks.Count > 0 && start <= marks.Peek())) throw Fail("stack underflow");
        var items = stack.GetRange(start, n).ToArray();
        stack.RemoveRange(start, n);
        return items;
    }

    private object?[] PopToMark()
    {
        if (marks.Count == 0) throw Fail("no MARK on the stack");
        var m = marks.Pop();
        var items = stack.GetRange(m + 1, stack.Count - m - 1).ToArray();
        stack.RemoveRange(m, stack.Count - m);
        return items;
    }

    private byte Byte() => pos < data.Length ? data[pos++] : throw Fail("unexpected end of pickle (truncated?)");

    private ReadOnlySpan<byte> Take(long n)
    {
        if (n < 0 || n > data.Length - pos) throw Fail($"needs {n} more bytes but only {data.Length - pos} are left (truncated?)");
        var s = data.AsSpan(pos, (int)n);
        pos += (int)n;
        return s;
    }

    /// <summary>Reads an unsigned length field and checks it against the bytes that are left.</summary>
    private long Length(int width, string opName)
    {
        var raw = Take(width);
        var n = width switch
        {
            1 => raw[0],
            4 => (long)BinaryPrimitives.ReadUInt32LittleEndian(raw),
            _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(raw), long.MaxValue),
        };
        if (n > data.Length - pos) throw Fail($"{opName} length {n} runs past the end of the pickle ({data.Length - pos} bytes left; corrupt file?)");
        return n;
    }

    private string Line(string what)
    {
        var end = Array.IndexOf(data, (byte)'\n', pos, Math.Min(data.Length - pos, 1024));
        if (end < 0) throw Fail($"{what}: no newline within 1024 bytes");
        var s = Encoding.UTF8.GetString(data, pos, end - pos);
        pos = end + 1;
        return s;
    }

    private object Long(ReadOnlySpan<byte> le)
    {
        if (le.Length == 0) return 0L;
        if (le.Length > 8) throw Fail($"integer of {le.Length} bytes does not fit in 64 bits");
        Span<byte> buf = stackalloc byte[8];
        buf.Fill((le[^1] & 0x80) != 0 ? (byte)0xff : (byte)0);
        le.CopyTo(buf);
        return BinaryPrimitives.ReadInt64LittleEndian(buf);
    }

    private string Utf8(ReadOnlySpan<byte> b)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(b);
        }
        catch (DecoderFallbackException)
        {
            throw Fail("string is not valid UTF-8");
        }
    }

    private static string TypeName(object? v) => v switch
    {
        null => "None",
        PyGlobal g => g.FullName,
        PyObject o => o.ClassName,
        _ => v.GetType().Name,
    };

    private InvalidDataException Fail(string message) => new($"{source}: {message} (pickle byte {opStart})");
}
