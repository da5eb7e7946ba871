"""Shared by the package's tests: the compiler and runtime of the build,
models compiled once per test run, and a safetensors reader/writer of the
tests' own (so the references do not go through the runtime)."""

import json
import os
import struct
import subprocess
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(HERE, "models")


def compiler():
    """The lispetorchc to compile the test models with: LTC_COMPILER, else
    the source tree's build/lispetorchc."""
    path = os.environ.get("LTC_COMPILER") or os.path.join(REPO, "build", "lispetorchc")
    if not os.path.exists(path):
        raise unittest.SkipTest(f"no compiler at {path} (set LTC_COMPILER)")
    return path


_workdir = None


def workdir():
    global _workdir
    if _workdir is None:
        _workdir = tempfile.TemporaryDirectory(prefix="ltc_python_")
    return _workdir.name


def compile_model(script, out_name, *args):
    """Compile tests/models/<script> to <workdir>/<out_name>.so (once);
    extra args go to the compiler."""
    so = os.path.join(workdir(), out_name + ".so")
    if not os.path.exists(so):
        env = dict(os.environ, LTC_CACHE="off")
        r = subprocess.run([compiler(), os.path.join(MODELS, script), "-o", so, *args],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise AssertionError(f"lispetorchc {script} failed ({r.returncode}): {r.stderr}")
    return so


_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BOOL": np.bool_, "BF16": np.uint16}
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}   # uint16 is written as BF16 bits


def to_bf16_bits(a):
    """float32 -> bfloat16 bits (uint16) by truncation: the values the
    model reads are exactly those from_bf16_bits gives back."""
    return (np.ascontiguousarray(a, np.float32).view(np.uint32) >> 16).astype(np.uint16)


def from_bf16_bits(b):
    return (np.asarray(b).view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype=_ST_DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
    return out


def safetensors_bytes(tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        b = a.tobytes()
        header[name] = {"dtype": _ST_NAMES[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write_safetensors(path, tensors):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors))
