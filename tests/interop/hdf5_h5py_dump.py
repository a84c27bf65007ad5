"""Prints every dataset of an HDF5 file as JSON, read with h5py (Debian's python3-h5py):
{"/path": {"dtype": numpy dtype str, "shape": [...], "values": [...flat...], "attrs": {...}}}.
Floats are written with float.hex so the comparison is exact; bytes sequences as int lists."""
import json
import sys

import h5py
import numpy as np


def encode(v):
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, np.ndarray):
        return [int(x) for x in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (complex, np.complexfloating)):
        return [float(v.real).hex(), float(v.imag).hex()]
    if isinstance(v, (float, np.floating)):
        return float(v).hex()
    if isinstance(v, (int, np.integer)):
        return int(v)
    return str(v)


out = {}


def visit(name, obj):
    if isinstance(obj, h5py.Dataset):
        data = obj[()]
        flat = np.asarray(data, dtype=object if obj.dtype.kind in "OV" else None).reshape(-1)
        out["/" + name] = {
            "dtype": obj.dtype.str if obj.dtype.kind != "O" else "object",
            "shape": list(obj.shape),
            "values": [encode(v) for v in flat],
            "attrs": {k: encode(v) for k, v in obj.attrs.items()},
        }


with h5py.File(sys.argv[1], "r") as f:
    f.visititems(visit)
    out["@root"] = {k: encode(v) for k, v in f.attrs.items()}
json.dump(out, sys.stdout)
