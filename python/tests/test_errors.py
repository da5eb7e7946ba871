"""Bad input gives a Python exception carrying the runtime's message."""

import os
import subprocess
import sys
import unittest
import warnings

import numpy as np

import helpers
import lispetorchc


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.so = helpers.compile_model("ffn_residual.lsp", "ffn")
        cls.norm_so = helpers.compile_model("norm_two.lsp", "norm", "--entry", "norm", "--entry", "embed")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # the compiler's random weights
            cls.m = lispetorchc.load(cls.so)
            cls.n = lispetorchc.load(cls.norm_so)
        cls.x = np.zeros((2, 3, 8), np.float32)
        cls.r = np.zeros((2, 3, 16), np.float32)

    def check(self, status, message, fn, *args, **kw):
        with self.assertRaises(lispetorchc.LtcError) as c:
            fn(*args, **kw)
        self.assertEqual(c.exception.status, status, str(c.exception))
        if message is not None:
            self.assertEqual(str(c.exception), message)
        return c.exception

    def test_wrong_dtype(self):
        self.check("DTYPE", "input 'x': expected dtype float32, got float64", self.m, self.x.astype(np.float64), self.r)
        self.check("DTYPE", "input 'r': expected dtype float32, got int64", self.m, self.x, self.r.astype(np.int64))
        self.check("DTYPE", "input 'ids': expected dtype int64, got float32", self.n.run, "embed", self.x[..., 0])

    def test_byte_order(self):
        with self.assertRaises(TypeError) as c:
            self.m(self.x.astype(self.x.dtype.newbyteorder()), self.r)
        self.assertIn("byte order", str(c.exception))

    def test_wrong_rank_and_sizes(self):
        self.check("SHAPE", "input 'x': expected rank 3 [B,S,8], got rank 2 [2,3]", self.m, self.x[..., 0], self.r)
        self.check("SHAPE", "input 'x': expected rank 3 [B,S,8], got [2,3,7]", self.m, self.x[..., :7], self.r)
        e = self.check("SHAPE", None, self.m, self.x, np.zeros((2, 4, 16), np.float32))
        self.assertIn("input 'r'", str(e))
        e = self.check("SHAPE", None, self.m.output_shapes, (2, 3, 8), (2, 4, 16))
        self.assertIn("input 'r'", str(e))
        self.check("SHAPE", "input 'x': expected rank 3 [B,S,8], got rank 2 [2,3]", self.m.output_shapes, (2, 3), (2, 3, 16))
        self.check("SHAPE", None, self.m.output_shapes, (2, -3, 8), (2, 3, 16))

    def test_counts_and_entries(self):
        self.check("ARG", "entry 'forward' takes 2 inputs, got 1", self.m, self.x)
        self.check("ARG", "entry 'forward' takes 2 inputs, got 3", self.m, self.x, self.r, self.r)
        self.check("ARG", "entry 'forward' has 1 output, got 2", self.m, self.x, self.r,
                   out=(np.zeros((2, 3, 16), np.float32), np.zeros((2, 3, 16), np.float32)))
        self.check("ARG", "entry 'forward' takes 2 inputs, got 1", self.m.output_shapes, (2, 3, 8))
        e = self.check("ARG", None, self.m.run, "nope", self.x, self.r)
        self.assertIn("no entry named 'nope'", str(e))

    def test_ids_out_of_range(self):
        ids = np.array([[1, 2, 10]], np.int64)
        e = self.check("ARG", None, self.n.run, "embed", ids)
        self.assertIn("input 'ids': value 10 at [0,2] is out of range", str(e))

    def test_files(self):
        self.check("IO", None, lispetorchc.load, os.path.join(helpers.workdir(), "absent.so"))
        bad = os.path.join(helpers.workdir(), "not_a_model.so")
        with open(bad, "wb") as f:
            f.write(b"\x7fELF not really")
        self.check("FORMAT", None, lispetorchc.load, bad)
        e = self.check("WEIGHTS", None, lispetorchc.load, self.so, weights=os.path.join(helpers.workdir(), "absent.safetensors"))
        self.assertIn("absent.safetensors", str(e))
        wrong = os.path.join(helpers.workdir(), "wrong.safetensors")
        helpers.write_safetensors(wrong, {"lin.weight": np.zeros((16, 7), np.float32), "lin.bias": np.zeros(16, np.float32)})
        e = self.check("WEIGHTS", None, lispetorchc.load, self.so, weights=wrong)
        self.assertIn("lin.weight", str(e))
        self.check("WEIGHTS", None, self.m.bind_weights, b"not safetensors")

    def test_unbound_weights_and_closed_model(self):
        # a copy of the model with no weights file beside it
        lone = os.path.join(helpers.workdir(), "lone.so")
        with open(self.so, "rb") as a, open(lone, "wb") as b:
            b.write(a.read())
        m = lispetorchc.load(lone)
        e = self.check("WEIGHTS", None, m, self.x, self.r)
        self.assertIn("weights are not bound", str(e))
        m.close()
        self.check("ARG", "the model is closed", m, self.x, self.r)
        m.close()                                           # twice is fine
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lispetorchc.load(self.so) as m2:       # a context manager closes it
                self.assertEqual(m2(self.x, self.r).shape, (2, 3, 16))
        self.check("ARG", "the model is closed", m2.output_shapes, (2, 3, 8), (2, 3, 16))

    def test_not_a_tensor_output(self):
        with self.assertRaises(TypeError):
            self.m(self.x, self.r, out=[[0.0]])

    def test_runtime_found_next_to_the_compiler(self):
        # without LTC_RUNTIME_LIB: the directory of the lispetorchc on PATH
        bindir = os.path.dirname(os.path.realpath(helpers.compiler()))
        if not os.path.exists(os.path.join(bindir, "libltc_runtime.so")):
            self.skipTest(f"no libltc_runtime.so next to {helpers.compiler()}")
        env = {k: v for k, v in os.environ.items() if k != "LTC_RUNTIME_LIB"}
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        code = "import lispetorchc._lib as L; print(L.lib()._name)"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.path.dirname(r.stdout.strip()), bindir)

    def test_runtime_not_found(self):
        code = "import lispetorchc\ntry:\n    lispetorchc.runtime_version()\nexcept lispetorchc.RuntimeNotFound as e:\n    print('NF', e)\n"
        env = dict(os.environ, LTC_RUNTIME_LIB="/nonexistent/libltc_runtime.so")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("NF LTC_RUNTIME_LIB=/nonexistent/libltc_runtime.so: cannot load it", r.stdout)


if __name__ == "__main__":
    unittest.main()
