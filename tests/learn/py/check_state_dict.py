#!/usr/bin/env python3
"""Loads a cairn state_dict.pt the way torch.load does, with the standard library only
(no torch on the build machine), and compares it with what the C++ test expects.

    check_state_dict.py STATE_DICT.pt EXPECTED.json

torch.load of a zip-format file: the archive holds <prefix>/data.pkl (a pickle whose
persistent ids name storages), <prefix>/data/<key> (each storage's raw little-endian bytes)
and <prefix>/version. Tensors are rebuilt by torch._utils._rebuild_tensor_v2(storage,
offset, size, stride, requires_grad, backward_hooks). This script does the same with
stand-ins for those torch names, accepts only the globals torch.load(weights_only=True)
accepts, and prints one JSON line describing what it found.
"""
import io
import json
import pickle
import pickletools
import struct
import sys
import zipfile

# dtype of each storage class torch may name, as a struct format and byte width.
STORAGES = {
    "FloatStorage": ("f", 4, "float32"),
    "DoubleStorage": ("d", 8, "float64"),
    "LongStorage": ("q", 8, "int64"),
    "IntStorage": ("i", 4, "int32"),
}
# What weights_only=True unpickling permits (torch/_weights_only_unpickler.py), restricted
# to what a state_dict of float tensors needs.
ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
} | {("torch", name) for name in STORAGES}


class StorageType:
    def __init__(self, name):
        self.name = name


class Storage:
    def __init__(self, storage_type, key, location, numel):
        self.storage_type, self.key, self.location, self.numel = storage_type, key, location, numel


class Tensor:
    def __init__(self, storage, offset, size, stride, requires_grad):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)
        self.requires_grad = requires_grad


def rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks, *metadata):
    return Tensor(storage, offset, size, stride, requires_grad)


class TorchLikeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed by weights_only loading")
        if module == "collections":
            import collections
            return collections.OrderedDict
        if name == "_rebuild_tensor_v2":
            return rebuild_tensor_v2
        return StorageType(name)

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel)
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return Storage(pid[1], pid[2], pid[3], pid[4])


def fail(message):
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(1)


def main():
    path, expected_path = sys.argv[1], sys.argv[2]
    expected = json.load(open(expected_path))
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
        if bad is not None:
            fail(f"corrupt member {bad}")
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            fail(f"expected one <prefix>/data.pkl, found {pickles}")
        prefix = pickles[0][: -len("data.pkl")]
        if prefix.count("/") != 1:
            fail(f"data.pkl must sit in one top-level folder, not {pickles[0]}")
        if prefix + "version" not in names:
            fail(f"no {prefix}version record")
        version = archive.read(prefix + "version").decode().strip()
        data_pkl = archive.read(pickles[0])
        # Opcode-level check: a well-formed pickle of protocol 2 (what torch.save writes).
        opcodes = list(pickletools.genops(data_pkl))
        if opcodes[0][0].name != "PROTO" or opcodes[0][1] != 2:
            fail(f"pickle starts with {opcodes[0][0].name} {opcodes[0][1]}, torch.save writes PROTO 2")
        if opcodes[-1][0].name != "STOP":
            fail("pickle does not end with STOP")
        pickletools.dis(data_pkl, out=io.StringIO())  # raises on a malformed stream
        globals_used = sorted({arg for op, arg, _ in opcodes if op.name in ("GLOBAL", "STACK_GLOBAL") and arg})
        state = TorchLikeUnpickler(io.BytesIO(data_pkl)).load()
        if not isinstance(state, dict):
            fail(f"the pickle holds {type(state).__name__}, not a dict")
        found = []
        for name, tensor in state.items():
            if not isinstance(name, str) or not isinstance(tensor, Tensor):
                fail(f"entry {name!r} is not name -> tensor")
            storage = tensor.storage
            fmt, width, dtype = STORAGES[storage.storage_type.name]
            member = f"{prefix}data/{storage.key}"
            if member not in names:
                fail(f"{name}: storage {member} missing from the archive")
            raw = archive.read(member)
            if len(raw) != storage.numel * width:
                fail(f"{name}: storage holds {len(raw)} bytes, numel {storage.numel} x {width}")
            numel = 1
            for d in tensor.size:
                numel *= d
            # Contiguous row-major strides, as torch.save writes a fresh tensor.
            stride, acc = [], 1
            for d in reversed(tensor.size):
                stride.insert(0, acc)
                acc *= d
            if tuple(stride) != tensor.stride:
                fail(f"{name}: stride {tensor.stride} is not contiguous {tuple(stride)}")
            if tensor.offset + numel > storage.numel:
                fail(f"{name}: offset {tensor.offset} + {numel} values overrun the storage")
            values = struct.unpack_from(f"<{numel}{fmt}", raw, tensor.offset * width)
            found.append({"name": name, "shape": list(tensor.size), "dtype": dtype, "location": storage.location,
                          "values": list(values)})
    want = expected["tensors"]
    if [t["name"] for t in found] != [t["name"] for t in want]:
        fail(f"names {[t['name'] for t in found]} != {[t['name'] for t in want]}")
    for got, exp in zip(found, want):
        if got["shape"] != exp["shape"]:
            fail(f"{got['name']}: shape {got['shape']} != {exp['shape']}")
        if got["dtype"] != "float32":
            fail(f"{got['name']}: dtype {got['dtype']}")
        # float32 -> JSON -> float: compare after rounding the expectation to float32.
        expected_values = struct.unpack(f"<{len(exp['values'])}f", struct.pack(f"<{len(exp['values'])}f", *exp["values"]))
        if tuple(got["values"]) != expected_values:
            fail(f"{got['name']}: values differ")
    print(json.dumps({"ok": True, "prefix": prefix, "version": version, "globals": globals_used,
                      "tensors": [{k: t[k] for k in ("name", "shape", "dtype", "location")} for t in found]}))


if __name__ == "__main__":
    main()
