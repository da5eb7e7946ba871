"""lispetorchc: run a model.so compiled by lispetorchc from Python.

    import lispetorchc
    m = lispetorchc.load("model.so", weights="model.safetensors")
    y = m(x)                       # the first entry, on NumPy arrays or DLPack tensors
    y = m.run("decode", x)         # a named entry
    m.inputs, m.outputs            # names, dtypes, symbolic dims

Pure Python over ctypes and the runtime's C API (libltc_runtime.so);
see docs/python.md.
"""

from ._lib import RuntimeNotFound
from ._model import Entry, LtcError, Model, TensorInfo, load

__version__ = "0.1.0"


def runtime_version():
    """The version of the libltc_runtime.so loaded."""
    from ._lib import lib
    return lib().ltc_runtime_version().decode()


__all__ = ["load", "Model", "Entry", "TensorInfo", "LtcError", "RuntimeNotFound", "runtime_version"]
