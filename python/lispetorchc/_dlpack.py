"""DLPack: the C structs (runtime/include/dlpack/dlpack.h, and DLPack 1.0's
versioned managed tensor) and taking a tensor from an object that speaks
the protocol (``__dlpack__``).

The consumer's side of the protocol, as this module does it:

* call ``obj.__dlpack__(max_version=(1, 0))``; a producer that predates
  DLPack 1.0 raises TypeError on the keyword, and is asked again with
  ``obj.__dlpack__()``;
* the capsule is named "dltensor_versioned" (a DLManagedTensorVersioned,
  whose major version must be 1 and whose flags say read-only / copied)
  or "dltensor" (a DLManagedTensor, 0.x);
* once the pointer is taken the capsule is renamed "used_dltensor..." so
  that its destructor does not free the tensor, and this side calls the
  managed tensor's deleter when the run is over (``Borrowed.release``).
"""

import ctypes

kDLCPU = 1
kDLCUDA = 2

kDLInt, kDLUInt, kDLFloat, kDLBfloat, kDLComplex, kDLBool = 0, 1, 2, 4, 5, 6

FLAG_READ_ONLY = 1 << 0         # DLPACK_FLAG_BITMASK_READ_ONLY
FLAG_IS_COPIED = 1 << 1         # DLPACK_FLAG_BITMASK_IS_COPIED


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p),
                ("device", DLDevice),
                ("ndim", ctypes.c_int32),
                ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor),
                ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("version", DLPackVersion),
                ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p),
                ("flags", ctypes.c_uint64),
                ("dl_tensor", DLTensor)]


# A deleter is called without the GIL (CFUNCTYPE releases it), as the
# protocol allows any thread to call it; NumPy's takes the GIL itself.
_Deleter = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_capsule_is_valid = ctypes.pythonapi.PyCapsule_IsValid
_capsule_is_valid.restype = ctypes.c_int
_capsule_is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capsule_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_get_pointer.restype = ctypes.c_void_p
_capsule_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capsule_set_name = ctypes.pythonapi.PyCapsule_SetName
_capsule_set_name.restype = ctypes.c_int
_capsule_set_name.argtypes = [ctypes.py_object, ctypes.c_char_p]

# PyCapsule_SetName keeps the pointer, not a copy: these bytes live as long
# as the module.
_VERSIONED = b"dltensor_versioned"
_USED_VERSIONED = b"used_dltensor_versioned"
_LEGACY = b"dltensor"
_USED_LEGACY = b"used_dltensor"


class Borrowed:
    """A tensor taken from a DLPack capsule: ``tensor`` (a DLTensor, valid
    until ``release``), ``read_only``, and the deleter to call."""

    def __init__(self, tensor, read_only, managed, deleter, capsule):
        self.tensor = tensor
        self.read_only = read_only
        self._managed = managed
        self._deleter = deleter
        self._capsule = capsule

    def release(self):
        """Call the producer's deleter (once)."""
        if self._managed:
            managed, self._managed = self._managed, None
            if self._deleter:
                _Deleter(self._deleter)(managed)

    def __del__(self):
        self.release()


def _capsule(obj):
    try:
        return obj.__dlpack__(max_version=(1, 0))
    except TypeError:
        # a producer of DLPack < 1.0: no max_version keyword
        return obj.__dlpack__()


def borrow(obj, what):
    """Take the tensor of obj (which has ``__dlpack__``).  Raises
    TypeError/ValueError naming ``what`` when it cannot."""
    cap = _capsule(obj)
    if _capsule_is_valid(cap, _VERSIONED):
        ptr = _capsule_get_pointer(cap, _VERSIONED)
        mt = DLManagedTensorVersioned.from_address(ptr)
        if mt.version.major != 1:
            # it cannot be read, and the producer keeps ownership (the
            # capsule, not renamed, frees it)
            raise ValueError(f"{what}: DLPack version {mt.version.major}.{mt.version.minor} "
                             "is not one this package reads (1.x; or 0.8 without a version)")
        if _capsule_set_name(cap, _USED_VERSIONED) != 0:
            raise ValueError(f"{what}: cannot mark the DLPack capsule as used")
        return Borrowed(mt.dl_tensor, bool(mt.flags & FLAG_READ_ONLY), ptr, mt.deleter, cap)
    if _capsule_is_valid(cap, _LEGACY):
        ptr = _capsule_get_pointer(cap, _LEGACY)
        mt = DLManagedTensor.from_address(ptr)
        if _capsule_set_name(cap, _USED_LEGACY) != 0:
            raise ValueError(f"{what}: cannot mark the DLPack capsule as used")
        return Borrowed(mt.dl_tensor, False, ptr, mt.deleter, cap)
    raise TypeError(f"{what}: __dlpack__ returned {type(cap).__name__}, not a DLPack capsule "
                    "named 'dltensor_versioned' or 'dltensor'")
