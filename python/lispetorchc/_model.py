"""Model: a model.so opened with the runtime, its weights bound, its
entries run on NumPy arrays and DLPack tensors."""

import ctypes
import os
import warnings
from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np

from . import _dlpack as dl
from . import _dtypes as dt
from ._lib import ErrorC, Shape, TensorInfoC, lib
from ._tensors import CallTensors, RuntimeTensor, as_array

STATUS_NAMES = ("OK", "ARG", "IO", "FORMAT", "ABI", "VERSION", "CPU", "SHAPE", "DTYPE", "DEVICE",
                "LAYOUT", "WEIGHTS", "NOMEM")


class LtcError(RuntimeError):
    """A failing runtime call: ``code`` is the ltc_status number, ``status``
    its name ("SHAPE", "DTYPE"...), the message the runtime's."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.status = STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else str(code)


@dataclass(frozen=True)
class TensorInfo:
    """An input, output or parameter: its name, dtype name ("float32",
    "float16", "bfloat16", "int64", "bool") and shape, where a dimension
    that depends on the entry's symbols is its expression ("B", "S", "B*S")
    and a fixed one its size."""
    name: str
    dtype: str
    shape: Tuple[Union[int, str], ...]

    @property
    def numpy_dtype(self):
        """The NumPy dtype of arrays of this tensor (uint16 for bfloat16
        without ml_dtypes)."""
        return dt.numpy_dtype(dt.NAMES.index(self.dtype))

    @property
    def ndim(self):
        return len(self.shape)


@dataclass(frozen=True)
class Entry:
    """One entry point of the model: its symbols, inputs and outputs."""
    name: str
    symbols: Tuple[str, ...]
    inputs: Tuple[TensorInfo, ...]
    outputs: Tuple[TensorInfo, ...]


def _info(c):
    shape = tuple(c.dim_names[i].decode() if c.dims[i] < 0 else int(c.dims[i]) for i in range(c.ndim))
    return TensorInfo(c.name.decode(), dt.name(c.dtype), shape)


class Model:
    """A model.so opened with the runtime (see load())."""

    def __init__(self, path, weights=None, threads=None):
        self._rt = lib()
        self._h = None
        self._weights_memory = None
        err = ErrorC()
        h = self._rt.ltc_model_open(os.fsencode(os.fspath(path)), ctypes.byref(err))
        if not h:
            raise LtcError(err.code, err.message.decode(errors="replace"))
        self._h = h
        self.path = os.fspath(path)
        self._entries = tuple(self._read_entry(i) for i in range(self._rt.ltc_model_num_entries(h)))
        self._by_name = {e.name: e for e in self._entries}
        if threads is not None:
            self.num_threads = threads
        if weights is not None:
            self._bind(weights, 4)      # the warning points at the caller of load()
        elif self.params and not self._rt.ltc_model_has_embedded_weights(h):
            # where `lispetorchc -o MODEL.so` writes them (as examples/host does)
            sibling = os.path.splitext(self.path)[0] + ".safetensors"
            if os.path.exists(sibling):
                self._bind(sibling, 4)

    # ---- handle and errors ----------------------------------------------------------------
    def _handle(self):
        if not self._h:
            raise LtcError(1, "the model is closed")
        return self._h

    def _error(self):
        e = self._rt.ltc_last_error(self._h).contents
        return LtcError(e.code, e.message.decode(errors="replace"))

    def close(self):
        """Close the model (also on garbage collection).  Arrays it
        returned stay valid: they own their memory."""
        if self._h:
            h, self._h = self._h, None
            self._rt.ltc_model_close(h)

    def __del__(self):
        if getattr(self, "_h", None):
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if not self._h else ", ".join(e.name for e in self._entries)
        return f"<lispetorchc.Model {self.path!r}: {state}>"

    # ---- metadata ---------------------------------------------------------------------
    def _read_entry(self, i):
        rt, h = self._rt, self._h
        name = rt.ltc_model_entry_name(h, i)
        syms = tuple(rt.ltc_model_symbol_name(h, name, k).decode() for k in range(rt.ltc_model_num_symbols(h, name)))
        c = TensorInfoC()
        ins, outs = [], []
        for k in range(rt.ltc_model_num_inputs(h, name)):
            rt.ltc_model_input_info(h, name, k, ctypes.byref(c))
            ins.append(_info(c))
        for k in range(rt.ltc_model_num_outputs(h, name)):
            rt.ltc_model_output_info(h, name, k, ctypes.byref(c))
            outs.append(_info(c))
        return Entry(name.decode(), syms, tuple(ins), tuple(outs))

    @property
    def entries(self):
        """The entries' names; the first is the one m(...) runs."""
        return tuple(e.name for e in self._entries)

    def entry(self, name=None):
        """The Entry named `name` (None: the first)."""
        if name is None:
            return self._entries[0]
        try:
            return self._by_name[name]
        except KeyError:
            raise LtcError(1, f"no entry named '{name}' (entries: {', '.join(self.entries)})") from None

    @property
    def inputs(self):
        """The first entry's inputs (TensorInfo); entry(name).inputs for another."""
        return self._entries[0].inputs

    @property
    def outputs(self):
        return self._entries[0].outputs

    @property
    def symbols(self):
        return self._entries[0].symbols

    @property
    def params(self):
        """The parameters of all entries (bound by name from the weights)."""
        rt, h = self._rt, self._handle()
        c = TensorInfoC()
        out = []
        for i in range(rt.ltc_model_num_params(h)):
            rt.ltc_model_param_info(h, i, ctypes.byref(c))
            out.append(_info(c))
        return tuple(out)

    @property
    def compiler_version(self):
        return self._rt.ltc_model_compiler_version(self._handle()).decode()

    @property
    def target(self):
        """(triple, cpu) the kernels were compiled for."""
        h = self._handle()
        return (self._rt.ltc_model_target_triple(h).decode(), self._rt.ltc_model_target_cpu(h).decode())

    @property
    def num_threads(self):
        return self._rt.ltc_get_num_threads(self._handle())

    @num_threads.setter
    def num_threads(self, n):
        if self._rt.ltc_set_num_threads(self._handle(), int(n)) != 0:
            raise self._error()

    @property
    def call_count(self):
        """The run counter (dropout masks of run k, docs/runtime.md)."""
        return self._rt.ltc_model_call_count(self._handle())

    @call_count.setter
    def call_count(self, k):
        if self._rt.ltc_model_set_call_count(self._handle(), int(k)) != 0:
            raise self._error()

    # ---- weights ------------------------------------------------------------------------
    @property
    def weights_warning(self):
        """The runtime's warning about the bound weights (random initial
        values), or None."""
        w = self._rt.ltc_model_weights_warning(self._handle())
        return w.decode() if w else None

    def bind_weights(self, source):
        """Bind every parameter from a safetensors file (a path) or image
        (bytes; other buffers are copied to bytes).  A binding of random
        initial weights warns (RuntimeWarning)."""
        self._bind(source, 3)

    def _bind(self, source, stacklevel):
        h = self._handle()
        if isinstance(source, (str, os.PathLike)):
            rc = self._rt.ltc_model_bind_weights_file(h, os.fsencode(os.fspath(source)))
            keep = None
        else:
            keep = source if isinstance(source, bytes) else bytes(memoryview(source))
            ptr = ctypes.cast(ctypes.c_char_p(keep), ctypes.c_void_p)
            rc = self._rt.ltc_model_bind_weights_memory(h, ptr, len(keep))
        if rc != 0:
            raise self._error()
        self._weights_memory = keep         # the runtime reads it in place
        w = self.weights_warning
        if w:
            warnings.warn(w, RuntimeWarning, stacklevel=stacklevel)

    # ---- running --------------------------------------------------------------------------
    def output_shapes(self, *inputs, entry=None):
        """The shapes of the entry's outputs for inputs of these shapes
        (tuples of sizes, or anything with .shape), from the runtime
        (ltc_model_output_shapes): a tuple of tuples, one per output."""
        e = self.entry(entry)
        shapes = [tuple(int(s) for s in (x.shape if hasattr(x, "shape") else x)) for x in inputs]
        n = len(shapes)
        bufs = [(ctypes.c_int64 * max(1, len(s)))(*s) for s in shapes]
        ptrs = (ctypes.POINTER(ctypes.c_int64) * max(1, n))(*[ctypes.cast(b, ctypes.POINTER(ctypes.c_int64)) for b in bufs])
        ndims = (ctypes.c_int * max(1, n))(*[len(s) for s in shapes])
        nout = len(e.outputs)
        out = (Shape * max(1, nout))()
        if self._rt.ltc_model_output_shapes(self._handle(), e.name.encode(), ptrs, ndims, n, out, nout) != 0:
            raise self._error()
        return tuple(tuple(int(out[i][d]) for d in range(e.outputs[i].ndim)) for i in range(nout))

    def __call__(self, *inputs, out=None):
        """Run the first entry: see run()."""
        return self._run(self._entries[0], inputs, out)

    def run(self, entry, *inputs, out=None):
        """Run `entry` on the inputs (NumPy arrays, objects with __dlpack__,
        or anything numpy.asarray takes, converted to the input's dtype).
        Returns one NumPy array, or a tuple for several outputs: arrays
        that own the runtime's memory (no copy), or, with `out` (an array
        or a sequence, one per output, C-contiguous, of the output's
        shape and dtype), the `out` objects filled in place."""
        return self._run(self.entry(entry), inputs, out)

    def _run(self, e, inputs, out):
        rt, h = self._rt, self._handle()
        call = CallTensors()
        try:
            nin = len(inputs)
            tin = (dl.DLTensor * max(1, nin))()
            for i, x in enumerate(inputs):
                info = e.inputs[i] if i < len(e.inputs) else None
                tin[i] = call.tensor(x, info, f"input {i} ('{info.name}')" if info else f"input {i}")
            name = e.name.encode()
            if out is None:
                nout = len(e.outputs)
                outs = (ctypes.POINTER(dl.DLTensor) * max(1, nout))()
                if rt.ltc_model_run_alloc(h, name, tin, nin, outs, nout) != 0:
                    raise self._error()
                codes = [dt.NAMES.index(o.dtype) for o in e.outputs]
                owners = []
                try:
                    for i in range(nout):
                        owners.append(RuntimeTensor(rt, outs[i], codes[i]))   # owned from here
                except BaseException:
                    for k in range(len(owners), nout):
                        rt.ltc_tensor_free(outs[k])
                    raise
                result = tuple(as_array(o, c) for o, c in zip(owners, codes))
            else:
                given = [out] if isinstance(out, np.ndarray) or hasattr(out, "__dlpack__") else list(out)
                tout = (dl.DLTensor * max(1, len(given)))()
                for i, y in enumerate(given):
                    info = e.outputs[i] if i < len(e.outputs) else None
                    tout[i] = call.tensor(y, info, f"output {i} ('{info.name}')" if info else f"output {i}", output=True)
                if rt.ltc_model_run(h, name, tin, nin, tout, len(given)) != 0:
                    raise self._error()
                result = tuple(given)
        finally:
            call.release()
        return result[0] if len(result) == 1 else result


def load(path, weights=None, threads=None):
    """Open a model.so made by `lispetorchc -o`.  weights: a safetensors
    path or image to bind (default: MODEL.safetensors next to MODEL.so when
    the model has parameters, does not embed them, and the file exists).
    threads: the runs' thread count (default: every core)."""
    return Model(path, weights=weights, threads=threads)
