"""Tensors crossing a run: NumPy arrays and DLPack tensors made into
DLTensors for the runtime (CallTensors), and the runtime's output
tensors made into NumPy arrays without a copy (RuntimeTensor)."""

import ctypes

import numpy as np

from . import _dlpack as dl
from . import _dtypes as dt


class RuntimeTensor:
    """Owner of a tensor the runtime allocated (ltc_model_run_alloc): the
    NumPy array made from it (``__array_interface__``, no copy) keeps it as
    its base, and it is released with ltc_tensor_free when the array is
    collected."""

    def __init__(self, rt, ptr, code):
        self._rt, self._ptr = rt, ptr
        t = ptr.contents
        storage = np.dtype(np.uint16) if code == dt.BF16 else dt.numpy_dtype(code)
        self.__array_interface__ = {
            "data": (t.data, False),
            "shape": tuple(t.shape[i] for i in range(t.ndim)),
            "typestr": storage.str,
            "version": 3,
        }

    def __del__(self):
        if self._ptr:
            ptr, self._ptr = self._ptr, None
            self._rt.ltc_tensor_free(ptr)


def as_array(owner, code):
    """The NumPy array over a RuntimeTensor (its base), bf16 viewed as
    ml_dtypes.bfloat16 when that is installed."""
    a = np.asarray(owner)
    return a.view(dt.BFLOAT16) if code == dt.BF16 and dt.BFLOAT16 is not None else a


class CallTensors:
    """What one run keeps alive: arrays, shape buffers, borrowed DLPack
    tensors (released, whatever happens, when the run is over)."""

    def __init__(self):
        self.keep = []
        self.borrowed = []

    def release(self):
        for b in self.borrowed:
            b.release()
        self.borrowed.clear()
        self.keep.clear()

    def numpy_tensor(self, a, expected, what, output=False):
        if output:
            if not a.flags.writeable:
                raise ValueError(f"{what}: the array is read-only")
        elif not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)         # a copy (docs/python.md)
        self.keep.append(a)
        t = dl.DLTensor()
        t.data = a.ctypes.data if a.size else None
        t.device = dl.DLDevice(dl.kDLCPU, 0)
        t.ndim = a.ndim
        code, bits = dt.dl_of_numpy(a.dtype, expected)
        t.dtype = dl.DLDataType(code, bits, 1)
        if a.ndim:
            shape = (ctypes.c_int64 * a.ndim)(*a.shape)
            self.keep.append(shape)
            t.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64))
            if not a.flags.c_contiguous:    # an output: the runtime says it must be contiguous
                if any(s % a.itemsize for s in a.strides):
                    raise ValueError(f"{what}: strides {a.strides} are not multiples of the element size")
                strides = (ctypes.c_int64 * a.ndim)(*(s // a.itemsize for s in a.strides))
                self.keep.append(strides)
                t.strides = ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64))
        return t

    def tensor(self, x, info, what, output=False):
        """The DLTensor of x: a NumPy array (from its buffer), an object
        with __dlpack__, or (inputs) anything NumPy makes an array of, in
        the input's dtype."""
        expected = dt.NAMES.index(info.dtype) if info else None
        if isinstance(x, np.ndarray):
            return self.numpy_tensor(x, expected, what, output)
        if hasattr(x, "__dlpack__"):
            b = dl.borrow(x, what)
            self.borrowed.append(b)
            if output and b.read_only:
                raise ValueError(f"{what}: the DLPack tensor is read-only")
            t = dl.DLTensor.from_buffer_copy(b.tensor)
            if expected == dt.BF16 and (t.dtype.code, t.dtype.bits) == (dl.kDLUInt, 16):
                t.dtype.code = dl.kDLBfloat         # bf16 bits in uint16 (docs/python.md)
            return t
        if output:
            raise TypeError(f"{what}: expected a NumPy array or a DLPack tensor, got {type(x).__name__}")
        return self.numpy_tensor(np.asarray(x, dtype=info.numpy_dtype if info else None), expected, what)
