namespace BayesPfl.Engine.Weights.Torch;

/// <summary>
/// The only Python globals a checkpoint may name, and what "calling" each one means here. None of them runs code:
/// each maps to building an inert value (a tensor handle, a dict, a record). Anything else is refused by
/// <see cref="PickleReader"/> when the pickle names it.
/// </summary>
public static class PickleGlobals
{
    /// <summary>torch.*Storage classes, as they appear in storage persistent ids, with the element type they hold.</summary>
    public static readonly IReadOnlyDictionary<string, StDType> StorageTypes = new Dictionary<string, StDType>(StringComparer.Ordinal)
    {
        ["FloatStorage"] = StDType.F32,
        ["HalfStorage"] = StDType.F16,
        ["BFloat16Storage"] = StDType.BF16,
        ["DoubleStorage"] = StDType.F64,
        ["LongStorage"] = StDType.I64,
        ["IntStorage"] = StDType.I32,
        ["ShortStorage"] = StDType.I16,
        ["CharStorage"] = StDType.I8,
        ["ByteStorage"] = StDType.U8,
        ["BoolStorage"] = StDType.BOOL,
    };

    // Functions that TorchScript's pickler wraps typed lists and tagged values in; each returns its argument.
    private static readonly HashSet<string> IdentityFunctions = new(StringComparer.Ordinal)
    {
        "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_floatlist", "torch.jit._pickle.build_boollist",
        "torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_genericlist",
        "torch.jit._pickle.restore_type_tag", "torch._utils._rebuild_parameter", "torch.Size",
    };

    public static bool IsAllowed(string module, string name) =>
        module == "__torch__" || module.StartsWith("__torch__.", StringComparison.Ordinal)
        || (module == "torch" && StorageTypes.ContainsKey(name))
        || (module == "collections" && name == "OrderedDict")
        || (module == "torch._utils" && name is "_rebuild_tensor_v2" or "_rebuild_tensor")
        || IdentityFunctions.Contains(module + "." + name);

    /// <summary>REDUCE (newObj false) or NEWOBJ (newObj true) of an allowed global.</summary>
    public static object? Call(PyGlobal g, PyTuple args, bool newObj)
    {
        if (g.Module == "__torch__" || g.Module.StartsWith("__torch__.", StringComparison.Ordinal))
            return new PyObject(g.FullName); // attributes arrive with the BUILD that follows
        switch (g.FullName)
        {
            case "collections.OrderedDict":
                if (args.Count != 0) throw new InvalidDataException("collections.OrderedDict with constructor arguments is not supported");
                return new PyDict();
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_tensor":
                return RebuildTensor(g, args);
        }
        if (IdentityFunctions.Contains(g.FullName) && !newObj && args.Count >= 1) return args[0];
        throw new InvalidDataException($"{g} cannot be called {(newObj ? "with NEWOBJ" : $"with {args.Count} arguments")}");
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]);
    // _rebuild_tensor(storage, storage_offset, size, stride).
    private static TorchTensor RebuildTensor(PyGlobal g, PyTuple a)
    {
        if (a.Count < 4) throw new InvalidDataException($"{g} needs at least 4 arguments, got {a.Count}");
        if (a[0] is not TorchStorage storage) throw new InvalidDataException($"{g}: first argument is not a storage");
        if (a[1] is not long offset) throw new InvalidDataException($"{g}: storage offset is not an integer");
        return TorchTensor.Create(storage, offset, Ints(g, "size", a[2]), Ints(g, "stride", a[3]));
    }

    private static long[] Ints(PyGlobal g, string what, object? v)
    {
        if (v is not PyTuple t) throw new InvalidDataException($"{g}: {what} is not a tuple");
        return t.Items.Select(x => x is long l ? l : throw new InvalidDataException($"{g}: {what} holds a non-integer")).ToArray();
    }
}
