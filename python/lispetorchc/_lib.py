"""Finding and loading libltc_runtime.so, and the C API's prototypes.

The runtime is found in this order (the first that exists wins):

1. the file named by the environment variable LTC_RUNTIME_LIB (an error if
   it is set and cannot be loaded: a named library is never silently
   replaced by another);
2. next to this package (``lispetorchc/libltc_runtime.so``), where a wheel
   built with the library would put it;
3. a build directory or install prefix: the directory of the
   ``lispetorchc`` compiler found on PATH and its ``../lib``, the source
   tree's ``build/`` (this file is ``python/lispetorchc/_lib.py`` in the
   repository), ``sys.prefix/lib``;
4. the system loader's search path (``libltc_runtime.so.0``).
"""

import ctypes
import os
import shutil
import sys
import threading

from . import _dlpack as dl

LIB_NAMES = ("libltc_runtime.so", "libltc_runtime.so.0")
MAX_NDIM = 8            # LTC_MAX_NDIM of runtime.h


class TensorInfoC(ctypes.Structure):
    """ltc_tensor_info."""
    _fields_ = [("name", ctypes.c_char_p),
                ("dtype", ctypes.c_int),
                ("ndim", ctypes.c_int),
                ("dims", ctypes.c_int64 * MAX_NDIM),
                ("dim_names", ctypes.c_char_p * MAX_NDIM)]


class ErrorC(ctypes.Structure):
    """ltc_error."""
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]


Shape = ctypes.c_int64 * MAX_NDIM
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int

# name: (restype, argtypes)
_PROTOTYPES = {
    "ltc_runtime_version": (_S, []),
    "ltc_model_open": (_P, [_S, ctypes.POINTER(ErrorC)]),
    "ltc_model_close": (None, [_P]),
    "ltc_last_error": (ctypes.POINTER(ErrorC), [_P]),
    "ltc_set_num_threads": (_I, [_P, _I]),
    "ltc_get_num_threads": (_I, [_P]),
    "ltc_model_compiler_version": (_S, [_P]),
    "ltc_model_target_triple": (_S, [_P]),
    "ltc_model_target_cpu": (_S, [_P]),
    "ltc_model_has_embedded_weights": (_I, [_P]),
    "ltc_model_num_entries": (_I, [_P]),
    "ltc_model_entry_name": (_S, [_P, _I]),
    "ltc_model_num_symbols": (_I, [_P, _S]),
    "ltc_model_symbol_name": (_S, [_P, _S, _I]),
    "ltc_model_num_inputs": (_I, [_P, _S]),
    "ltc_model_num_outputs": (_I, [_P, _S]),
    "ltc_model_input_info": (_I, [_P, _S, _I, ctypes.POINTER(TensorInfoC)]),
    "ltc_model_output_info": (_I, [_P, _S, _I, ctypes.POINTER(TensorInfoC)]),
    "ltc_model_num_params": (_I, [_P]),
    "ltc_model_param_info": (_I, [_P, _I, ctypes.POINTER(TensorInfoC)]),
    "ltc_model_bind_weights_file": (_I, [_P, _S]),
    "ltc_model_bind_weights_memory": (_I, [_P, _P, ctypes.c_size_t]),
    "ltc_model_weights_warning": (_S, [_P]),
    "ltc_model_output_shapes": (_I, [_P, _S, ctypes.POINTER(ctypes.POINTER(ctypes.c_int64)),
                                     ctypes.POINTER(_I), _I, ctypes.POINTER(Shape), _I]),
    "ltc_model_run": (_I, [_P, _S, ctypes.POINTER(dl.DLTensor), _I, ctypes.POINTER(dl.DLTensor), _I]),
    "ltc_model_run_alloc": (_I, [_P, _S, ctypes.POINTER(dl.DLTensor), _I,
                                 ctypes.POINTER(ctypes.POINTER(dl.DLTensor)), _I]),
    "ltc_model_call_count": (ctypes.c_uint64, [_P]),
    "ltc_model_set_call_count": (_I, [_P, ctypes.c_uint64]),
    "ltc_tensor_free": (None, [ctypes.POINTER(dl.DLTensor)]),
}


class RuntimeNotFound(OSError):
    """libltc_runtime.so could not be found or loaded."""


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [here]
    compiler = shutil.which("lispetorchc")
    if compiler:
        bindir = os.path.dirname(os.path.realpath(compiler))
        dirs += [bindir, os.path.join(os.path.dirname(bindir), "lib")]
    dirs += [os.path.join(os.path.dirname(os.path.dirname(here)), "build"),
             os.path.join(sys.prefix, "lib")]
    for d in dirs:
        for n in LIB_NAMES:
            yield os.path.join(d, n)


def _declare(lib):
    for name, (res, args) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise RuntimeNotFound(f"{lib._name}: the runtime lacks {name} (an older libltc_runtime?)") from None
        fn.restype = res
        fn.argtypes = args
    return lib


def _load():
    named = os.environ.get("LTC_RUNTIME_LIB")
    if named:
        try:
            return _declare(ctypes.CDLL(named))
        except OSError as e:
            raise RuntimeNotFound(f"LTC_RUNTIME_LIB={named}: cannot load it: {e}") from None
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            try:
                return _declare(ctypes.CDLL(path))
            except OSError as e:
                tried.append(f"{path} ({e})")
    for n in reversed(LIB_NAMES):
        try:
            return _declare(ctypes.CDLL(n))
        except OSError:
            pass
    raise RuntimeNotFound(
        "cannot find the lispetorchc runtime (libltc_runtime.so): set LTC_RUNTIME_LIB to its path, "
        "or build it (ninja -C build ltc_runtime_shared)" + ("; failed: " + ", ".join(tried) if tried else ""))


_lib = None
_lock = threading.Lock()


def lib():
    """The loaded runtime (loaded on first use)."""
    global _lib
    with _lock:
        if _lib is None:
            _lib = _load()
        return _lib
