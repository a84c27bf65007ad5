#!/usr/bin/python3
"""An independent safetensors reader and writer in Python and numpy, written from the published
format description, to cross-check ckpt's files in both directions.

  safetensors_numpy.py write OUT   writes the reference tensors below to OUT
  safetensors_numpy.py check IN    reads IN and exits 0 if it holds exactly the reference tensors
"""
import json
import struct
import sys

import numpy as np


def reference():
    return {
        "encoder.layers.0.kernel": np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1,
        "encoder.layers.0.bias": np.array([1.5, -2.0, 65504.0], dtype=np.float16),
        "encoder.layers.1.kernel": np.array([[np.inf, -0.0]], dtype=np.float64),
        "encoder.layers.1.bias": np.array([-128, 127], dtype=np.int8),
        "step": np.array(2**62 + 1, dtype=np.int64),
        "mask": np.array([True, False, False, True]),
        "ids": np.array([2**64 - 1, 0], dtype=np.uint64),
        # bfloat16 has no numpy dtype: its bits as uint16 (1.5 and -2.0).
        "embedding": np.array([[0x3FC0, 0xC000]], dtype=np.uint16),
    }


DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I8": np.int8, "I64": np.int64,
          "BOOL": np.bool_, "U64": np.uint64, "BF16": np.uint16}
NAMES = {np.dtype(v): k for k, v in DTYPES.items() if k != "BF16"}


def write(path):
    tensors = reference()
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        dtype = "BF16" if name == "embedding" else NAMES[array.dtype]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    spans = sorted(tuple(v["data_offsets"]) for v in header.values())
    position = 0
    for begin, end in spans:
        assert begin == position, f"gap or overlap at {begin}"
        position = end
    assert position == len(data), "trailing bytes after the last tensor"
    expected = reference()
    assert sorted(header) == sorted(expected), f"keys {sorted(header)}"
    for name, want in expected.items():
        entry = header[name]
        begin, end = entry["data_offsets"]
        got = np.frombuffer(data[begin:end], dtype=np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<"))
        got = got.reshape(entry["shape"])
        assert list(got.shape) == list(want.shape), f"{name}: shape {got.shape}"
        assert got.tobytes() == want.astype(got.dtype).tobytes(), f"{name}: values {got} != {want}"
        if name == "embedding":
            assert entry["dtype"] == "BF16", name
        else:
            assert entry["dtype"] == NAMES[want.dtype], f"{name}: dtype {entry['dtype']}"
    print(f"{path}: {len(expected)} tensors match")


if __name__ == "__main__":
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])
