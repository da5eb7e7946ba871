"""Tensors from objects that speak only DLPack (__dlpack__): DLPack 1.0
(versioned capsule, read-only flag) and the older protocol; the capsule
is consumed (renamed, deleter called once)."""

import ctypes
import gc
import os
import sys
import unittest

import numpy as np

import helpers
import lispetorchc
from lispetorchc import _dlpack, _dtypes

SIZES = [(2, 5), (1, 1), (3, 33)]


class OnlyDLPack:
    """A producer that is not a NumPy array: it exports a NumPy array's
    memory through __dlpack__ alone (DLPack 1.0 when asked for it)."""

    def __init__(self, a):
        self.a = a
        self.calls = []

    def __dlpack__(self, stream=None, max_version=None):
        self.calls.append(max_version)
        if max_version is None:
            return self.a.__dlpack__()
        return self.a.__dlpack__(max_version=max_version)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


class LegacyDLPack:
    """A producer of DLPack < 1.0: no max_version keyword, a 'dltensor' capsule."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()


class NotACapsule:
    def __dlpack__(self, stream=None, max_version=None):
        return 42


def capsule_name(cap):
    get = ctypes.pythonapi.PyCapsule_GetName
    get.restype = ctypes.c_char_p
    get.argtypes = [ctypes.py_object]
    return get(cap)


class DLPack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.so = helpers.compile_model("ffn_residual.lsp", "ffn")
        rng = np.random.default_rng(3)
        cls.w = {"lin.weight": rng.standard_normal((16, 8)).astype(np.float32),
                 "lin.bias": rng.standard_normal(16).astype(np.float32)}
        cls.wfile = os.path.join(helpers.workdir(), "dlpack_w.safetensors")
        helpers.write_safetensors(cls.wfile, cls.w)
        cls.m = lispetorchc.load(cls.so, weights=cls.wfile)
        cls.rng = rng

    def ref(self, x, r):
        return np.maximum(x @ self.w["lin.weight"].T + self.w["lin.bias"], 0) + r

    def test_versioned_producer(self):
        for B, S in SIZES:
            x = self.rng.standard_normal((B, S, 8)).astype(np.float32)
            r = self.rng.standard_normal((B, S, 16)).astype(np.float32)
            px, pr = OnlyDLPack(x), OnlyDLPack(r)
            y = self.m(px, pr)
            self.assertEqual(px.calls, [(1, 0)])      # asked for DLPack 1.0 once
            np.testing.assert_allclose(y, self.ref(x, r), rtol=1e-5, atol=1e-5)

    def test_read_only_versioned_tensor(self):
        x = self.rng.standard_normal((2, 4, 8)).astype(np.float32)
        r = np.zeros((2, 4, 16), np.float32)
        x.flags.writeable = False
        cap = x.__dlpack__(max_version=(1, 0))
        self.assertEqual(capsule_name(cap), b"dltensor_versioned")
        b = _dlpack.borrow(type("P", (), {"__dlpack__": lambda self, **k: cap})(), "x")
        self.assertTrue(b.read_only)
        self.assertEqual(capsule_name(cap), b"used_dltensor_versioned")
        b.release()
        np.testing.assert_allclose(self.m(OnlyDLPack(x), r), self.ref(x, r), rtol=1e-5, atol=1e-5)

    def test_legacy_producer(self):
        x = self.rng.standard_normal((3, 5, 8)).astype(np.float32)
        r = self.rng.standard_normal((3, 5, 16)).astype(np.float32)
        cap = x.__dlpack__()
        self.assertEqual(capsule_name(cap), b"dltensor")
        b = _dlpack.borrow(type("P", (), {"__dlpack__": lambda self: cap})(), "x")
        self.assertFalse(b.read_only)
        self.assertEqual(capsule_name(cap), b"used_dltensor")
        b.release()
        np.testing.assert_allclose(self.m(LegacyDLPack(x), LegacyDLPack(r)), self.ref(x, r), rtol=1e-5, atol=1e-5)

    def test_deleter_is_called_once(self):
        # NumPy's exported capsule holds a reference to the array until its
        # deleter runs: the count comes back after a run, and not below
        x = self.rng.standard_normal((2, 3, 8)).astype(np.float32)
        r = self.rng.standard_normal((2, 3, 16)).astype(np.float32)
        px, pr = OnlyDLPack(x), LegacyDLPack(r)
        gc.collect()
        before = (sys.getrefcount(x), sys.getrefcount(r))
        for _ in range(3):
            self.m(px, pr)
        gc.collect()
        self.assertEqual((sys.getrefcount(x), sys.getrefcount(r)), before)
        # also when the run fails after the capsule was taken
        with self.assertRaises(lispetorchc.LtcError):
            self.m(px, LegacyDLPack(np.zeros((2, 4, 16), np.float32)))
        gc.collect()
        self.assertEqual(sys.getrefcount(x), before[0])

    def test_dlpack_output_is_filled(self):
        x = self.rng.standard_normal((2, 3, 8)).astype(np.float32)
        r = self.rng.standard_normal((2, 3, 16)).astype(np.float32)
        y = np.zeros((2, 3, 16), np.float32)
        res = self.m(x, r, out=OnlyDLPack(y))
        self.assertIsInstance(res, OnlyDLPack)
        np.testing.assert_allclose(y, self.ref(x, r), rtol=1e-5, atol=1e-5)
        yro = np.zeros((2, 3, 16), np.float32)
        yro.flags.writeable = False
        with self.assertRaises(ValueError):
            self.m(x, r, out=OnlyDLPack(yro))

    def test_errors(self):
        r = np.zeros((1, 2, 16), np.float32)
        with self.assertRaises(TypeError):
            self.m(NotACapsule(), r)
        with self.assertRaises(lispetorchc.LtcError) as c:
            self.m(OnlyDLPack(np.zeros((1, 2, 8), np.float64)), r)
        self.assertEqual(c.exception.status, "DTYPE")
        self.assertEqual(str(c.exception), "input 'x': expected dtype float32, got float64")
        # a strided DLPack tensor: the runtime copies it
        xs = self.rng.standard_normal((8, 2, 1)).astype(np.float32).transpose(2, 1, 0)
        np.testing.assert_allclose(self.m(OnlyDLPack(xs), r), self.ref(xs, r), rtol=1e-5, atol=1e-5)

    def test_dtype_mapping(self):
        K = _dlpack
        self.assertEqual(_dtypes.dl_of_numpy(np.dtype(np.float32)), (K.kDLFloat, 32))
        self.assertEqual(_dtypes.dl_of_numpy(np.dtype(np.float16)), (K.kDLFloat, 16))
        self.assertEqual(_dtypes.dl_of_numpy(np.dtype(np.int64)), (K.kDLInt, 64))
        self.assertEqual(_dtypes.dl_of_numpy(np.dtype(np.bool_)), (K.kDLBool, 8))
        # bfloat16 bits in a uint16 array, for a bfloat16 tensor only
        self.assertEqual(_dtypes.dl_of_numpy(np.dtype(np.uint16), _dtypes.BF16), (K.kDLBfloat, 16))
        self.assertEqual(_dtypes.dl_of_numpy(np.dtype(np.uint16)), (K.kDLUInt, 16))
        with self.assertRaises(TypeError):
            _dtypes.dl_of_numpy(np.dtype(object))
        with self.assertRaises(TypeError):          # non-native byte order is not read as native
            _dtypes.dl_of_numpy(np.dtype(">f4" if np.little_endian else "<f4"))
        self.assertEqual(_dtypes.numpy_dtype(_dtypes.BF16),
                         _dtypes.BFLOAT16 if _dtypes.BFLOAT16 is not None else np.uint16)


if __name__ == "__main__":
    unittest.main()
