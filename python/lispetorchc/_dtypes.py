"""Element types: the runtime's ltc_dtype, its names, NumPy and DLPack.

bfloat16 has no NumPy dtype of its own: with the ml_dtypes package
installed, bf16 tensors are ``ml_dtypes.bfloat16`` arrays; without it they
are ``uint16`` arrays holding the bits (an input of dtype bfloat16 also
accepts such a uint16 array, and bf16 outputs come back as uint16).
"""

import numpy as np

from . import _dlpack as dl

try:                                    # optional: a real bfloat16 dtype
    import ml_dtypes as _ml_dtypes
    BFLOAT16 = np.dtype(_ml_dtypes.bfloat16)
except ImportError:                     # bits in uint16 (documented)
    BFLOAT16 = None

# ltc_dtype (runtime.h) -> name, NumPy dtype (of the storage), DLPack type
NAMES = ("float32", "float16", "bfloat16", "int64", "bool")
BF16 = 2
_NUMPY = (np.dtype(np.float32), np.dtype(np.float16), BFLOAT16 or np.dtype(np.uint16),
          np.dtype(np.int64), np.dtype(np.bool_))
_DL = ((dl.kDLFloat, 32), (dl.kDLFloat, 16), (dl.kDLBfloat, 16), (dl.kDLInt, 64), (dl.kDLBool, 8))


def name(code):
    return NAMES[code] if 0 <= code < len(NAMES) else f"dtype{code}"


def numpy_dtype(code):
    """The NumPy dtype an array of ltc_dtype `code` has here."""
    return _NUMPY[code]


def dl_of_numpy(dt, expected=None):
    """The DLPack type of NumPy dtype dt; an array of an unknown kind gets
    a type the runtime refuses with its own message (float64, complex...).
    A uint16 array given for a bfloat16 tensor (`expected` == BF16) is
    read as bfloat16 bits."""
    if BFLOAT16 is not None and dt == BFLOAT16:
        return dl.kDLBfloat, 16
    if expected == BF16 and dt == np.uint16:
        return dl.kDLBfloat, 16
    if not dt.isnative:
        # DLPack has no byte order: the bytes would be read as native ones
        raise TypeError(f"NumPy dtype {dt.str} is not in the machine's byte order (use .astype('{dt.newbyteorder('=').str}'))")
    kind = {"f": dl.kDLFloat, "i": dl.kDLInt, "u": dl.kDLUInt, "b": dl.kDLBool, "c": dl.kDLComplex}.get(dt.kind)
    if kind is None:
        raise TypeError(f"NumPy dtype {dt} has no DLPack equivalent")
    return kind, dt.itemsize * 8


def dl_expected(code):
    return _DL[code]
