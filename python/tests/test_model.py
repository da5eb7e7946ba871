"""The package against NumPy references: metadata, runs of compiled models
at several sizes, weights binding, outputs without copies."""

import gc
import os
import unittest
import warnings

import numpy as np

import helpers
import lispetorchc

SIZES = [(2, 5), (1, 1), (3, 17), (4, 64), (2, 0)]


def ffn_ref(w, x, r):
    return np.maximum(x @ w["lin.weight"].T + w["lin.bias"], 0) + r


def layer_norm_ref(x, g, b, eps=1e-5):
    x = x.astype(np.float64)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


class Models(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ffn_so = helpers.compile_model("ffn_residual.lsp", "ffn")
        cls.norm_so = helpers.compile_model("norm_two.lsp", "norm", "--entry", "norm", "--entry", "embed")
        cls.rng = np.random.default_rng(7)
        # weights of the tests' own, not the compiler's random ones
        cls.ffn_w = {"lin.weight": cls.rng.standard_normal((16, 8)).astype(np.float32),
                     "lin.bias": cls.rng.standard_normal(16).astype(np.float32)}
        cls.ffn_wfile = os.path.join(helpers.workdir(), "ffn_own.safetensors")
        helpers.write_safetensors(cls.ffn_wfile, cls.ffn_w)
        cls.norm_w = {"ln.weight": cls.rng.uniform(0.5, 2, 8).astype(np.float32),
                      "ln.bias": cls.rng.standard_normal(8).astype(np.float32),
                      "emb.weight": cls.rng.standard_normal((10, 8)).astype(np.float32)}
        cls.norm_wfile = os.path.join(helpers.workdir(), "norm_own.safetensors")
        helpers.write_safetensors(cls.norm_wfile, cls.norm_w)

    def randn(self, *shape):
        return self.rng.standard_normal(shape).astype(np.float32)

    def test_metadata(self):
        m = lispetorchc.load(self.ffn_so, weights=self.ffn_wfile)
        self.assertEqual(m.entries, ("forward",))
        self.assertEqual(m.symbols, ("B", "S"))
        self.assertEqual([(t.name, t.dtype, t.shape) for t in m.inputs],
                         [("x", "float32", ("B", "S", 8)), ("r", "float32", ("B", "S", 16))])
        self.assertEqual([(t.name, t.dtype, t.shape) for t in m.outputs], [("output0", "float32", ("B", "S", 16))])
        self.assertEqual(m.inputs[0].numpy_dtype, np.float32)
        self.assertEqual(sorted((p.name, p.shape) for p in m.params),
                         [("lin.bias", (16,)), ("lin.weight", (16, 8))])
        self.assertEqual(m.compiler_version, lispetorchc.runtime_version())
        self.assertTrue(m.target[0].startswith("x86_64"))
        n = lispetorchc.load(self.norm_so, weights=self.norm_wfile)
        self.assertEqual(n.entries, ("norm", "embed"))
        self.assertEqual([t.shape for t in n.entry("norm").outputs], [("B", "S", 8), ("B", "S")])
        self.assertEqual([(t.name, t.dtype, t.shape) for t in n.entry("embed").inputs], [("ids", "int64", ("B", "S"))])

    def test_ffn_against_numpy_at_several_sizes(self):
        m = lispetorchc.load(self.ffn_so, weights=self.ffn_wfile)
        for B, S in SIZES:
            x, r = self.randn(B, S, 8), self.randn(B, S, 16)
            y = m(x, r)
            self.assertIsInstance(y, np.ndarray)
            self.assertEqual(y.shape, (B, S, 16))
            self.assertEqual(y.dtype, np.float32)
            np.testing.assert_allclose(y, ffn_ref(self.ffn_w, x, r), rtol=1e-5, atol=1e-5)
            self.assertEqual(m.output_shapes(x, r), ((B, S, 16),))
            self.assertEqual(m.output_shapes((B, S, 8), (B, S, 16)), ((B, S, 16),))
            np.testing.assert_array_equal(m.run("forward", x, r), y)

    def test_layer_norm_two_outputs_and_embedding(self):
        n = lispetorchc.load(self.norm_so, weights=self.norm_wfile)
        w = self.norm_w
        for B, S in SIZES:
            x = self.randn(B, S, 8) * 3 + 1
            y, s = n.run("norm", x)
            self.assertEqual((y.shape, s.shape), ((B, S, 8), (B, S)))
            np.testing.assert_allclose(y, layer_norm_ref(x, w["ln.weight"], w["ln.bias"]), rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(s, x.astype(np.float64).sum(-1), rtol=1e-5, atol=1e-4)
            self.assertEqual(n.output_shapes((B, S, 8), entry="norm"), ((B, S, 8), (B, S)))
            ids = self.rng.integers(0, 10, (B, S))
            e = n.run("embed", ids)
            np.testing.assert_array_equal(e, w["emb.weight"][ids])
        # the first entry is what calling the model runs
        x = self.randn(1, 3, 8)
        for a, b in zip(n(x), n.run("norm", x)):
            np.testing.assert_array_equal(a, b)

    def test_bool_input(self):
        m = lispetorchc.load(helpers.compile_model("masked.lsp", "masked"))
        self.assertEqual([(t.name, t.dtype) for t in m.inputs], [("x", "float32"), ("mask", "bool")])
        self.assertEqual(m.inputs[1].numpy_dtype, np.bool_)
        for B, S in SIZES:
            x = self.randn(B, S, 8)
            k = self.rng.random((B, S, 8)) > 0.5
            ref = np.where(k, np.float32(-1), x)
            np.testing.assert_array_equal(m(x, k), ref)
            np.testing.assert_array_equal(m(x, k.astype(np.uint8)), ref)    # bool as uint8 (older producers)

    def test_bf16_model_on_opencl(self):
        # bf16 storage needs a GPU target: OpenCL, run by PoCL on the CPU here
        try:
            so = helpers.compile_model("ffn_residual.lsp", "ffn_bf16", "--target", "opencl", "--dtype", "bf16")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = lispetorchc.load(so)
        except (AssertionError, lispetorchc.LtcError) as e:
            self.skipTest(f"no OpenCL bf16 model here: {e}")
        self.assertEqual([t.dtype for t in m.inputs + m.outputs], ["bfloat16"] * 3)
        bf16 = m.inputs[0].numpy_dtype           # ml_dtypes.bfloat16, else uint16 bits
        w = {k: helpers.from_bf16_bits(helpers.to_bf16_bits(v)) for k, v in self.ffn_w.items()}
        m.bind_weights(helpers.safetensors_bytes({k: helpers.to_bf16_bits(v) for k, v in w.items()}))
        for B, S in SIZES[:4]:
            x = helpers.from_bf16_bits(helpers.to_bf16_bits(self.randn(B, S, 8)))
            r = helpers.from_bf16_bits(helpers.to_bf16_bits(self.randn(B, S, 16)))
            y = m(helpers.to_bf16_bits(x).view(bf16), helpers.to_bf16_bits(r).view(bf16))
            self.assertEqual((y.shape, y.dtype), ((B, S, 16), bf16))
            np.testing.assert_allclose(helpers.from_bf16_bits(y), ffn_ref(w, x, r), rtol=1e-2, atol=1e-2)
            # uint16 bits are accepted for a bfloat16 input with or without ml_dtypes
            y2 = m(helpers.to_bf16_bits(x), helpers.to_bf16_bits(r))
            np.testing.assert_array_equal(y2.view(np.uint16), y.view(np.uint16))

    def test_weights_binding(self):
        # the compiler's own weights file (--save-weights), read by the test
        wfile = os.path.join(helpers.workdir(), "saved.safetensors")
        r = helpers.subprocess.run([helpers.compiler(), os.path.join(helpers.MODELS, "ffn_residual.lsp"),
                                    "--save-weights", wfile], capture_output=True, env=dict(os.environ, LTC_CACHE="off"))
        self.assertEqual(r.returncode, 0, r.stderr)
        saved = helpers.read_safetensors(wfile)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = lispetorchc.load(self.ffn_so, weights=wfile)
        # random initial weights: the runtime's warning, as a Python warning
        self.assertTrue(any("random initial weights" in str(c.message) for c in caught), caught)
        self.assertIn("random initial weights", m.weights_warning)
        x, rr = self.randn(2, 7, 8), self.randn(2, 7, 16)
        np.testing.assert_allclose(m(x, rr), ffn_ref(saved, x, rr), rtol=1e-5, atol=1e-5)
        # rebinding from a file and from bytes in memory changes the outputs
        m.bind_weights(self.ffn_wfile)
        self.assertIsNone(m.weights_warning)
        np.testing.assert_allclose(m(x, rr), ffn_ref(self.ffn_w, x, rr), rtol=1e-5, atol=1e-5)
        other = {k: v * 2 for k, v in self.ffn_w.items()}
        m.bind_weights(helpers.safetensors_bytes(other))
        gc.collect()        # the image must stay alive inside the model
        np.testing.assert_allclose(m(x, rr), ffn_ref(other, x, rr), rtol=1e-5, atol=1e-5)
        m.bind_weights(bytearray(helpers.safetensors_bytes(self.ffn_w)))
        np.testing.assert_allclose(m(x, rr), ffn_ref(self.ffn_w, x, rr), rtol=1e-5, atol=1e-5)

    def test_default_weights_next_to_the_model(self):
        # `-o ffn.so` wrote ffn.safetensors beside it: load() binds it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = lispetorchc.load(self.ffn_so)
        saved = helpers.read_safetensors(os.path.splitext(self.ffn_so)[0] + ".safetensors")
        x, r = self.randn(1, 4, 8), self.randn(1, 4, 16)
        np.testing.assert_allclose(m(x, r), ffn_ref(saved, x, r), rtol=1e-5, atol=1e-5)

    def test_outputs_own_runtime_memory_without_copy(self):
        m = lispetorchc.load(self.ffn_so, weights=self.ffn_wfile)
        x, r = self.randn(2, 3, 8), self.randn(2, 3, 16)
        y = m(x, r)
        # the array is a view of the runtime's allocation (64-byte aligned), not a copy
        self.assertEqual(type(y.base).__name__, "RuntimeTensor")
        self.assertEqual(y.ctypes.data % 64, 0)
        self.assertTrue(y.flags.writeable and y.flags.c_contiguous)
        self.assertEqual(y.__array_interface__["data"][0], y.base.__array_interface__["data"][0])
        ref = y.copy()
        m.close()                   # the outputs outlive the model
        np.testing.assert_array_equal(y, ref)
        freed = []
        owner = y.base
        orig = owner._rt.ltc_tensor_free
        owner._rt = type("Rt", (), {"ltc_tensor_free": staticmethod(lambda p: (freed.append(1), orig(p)))})()
        del y, owner
        gc.collect()
        self.assertEqual(freed, [1])    # ltc_tensor_free when the array is collected

    def test_preallocated_outputs_are_filled_in_place(self):
        n = lispetorchc.load(self.norm_so, weights=self.norm_wfile)
        x = self.randn(2, 6, 8)
        ya, sa = n.run("norm", x)
        y, s = np.empty((2, 6, 8), np.float32), np.empty((2, 6), np.float32)
        res = n.run("norm", x, out=(y, s))
        self.assertIs(res[0], y)
        self.assertIs(res[1], s)
        np.testing.assert_array_equal(y, ya)
        np.testing.assert_array_equal(s, sa)
        e = np.empty((2, 6, 8), np.float32)
        self.assertIs(n.run("embed", np.zeros((2, 6), np.int64), out=e), e)
        np.testing.assert_array_equal(e, np.broadcast_to(self.norm_w["emb.weight"][0], (2, 6, 8)))
        with self.assertRaises(lispetorchc.LtcError) as c:
            n.run("norm", x, out=(np.empty((2, 5, 8), np.float32), s))
        self.assertEqual(c.exception.status, "SHAPE")
        self.assertEqual(str(c.exception), "output 'output0': expected shape [2,6,8], got [2,5,8]")
        with self.assertRaises(lispetorchc.LtcError) as c:
            n.run("norm", x, out=(np.empty((2, 8, 6), np.float32).transpose(0, 2, 1), s))
        self.assertEqual(c.exception.status, "LAYOUT")
        ro = np.empty((2, 6, 8), np.float32)
        ro.flags.writeable = False
        with self.assertRaises(ValueError):
            n.run("norm", x, out=(ro, s))

    def test_inputs_strided_lists_and_threads(self):
        m = lispetorchc.load(self.ffn_so, weights=self.ffn_wfile)
        xt = self.randn(8, 5, 2).transpose(2, 1, 0)       # [2,5,8], not contiguous: copied
        r = self.randn(2, 5, 16)
        self.assertFalse(xt.flags.c_contiguous)
        np.testing.assert_allclose(m(xt, r), ffn_ref(self.ffn_w, xt, r), rtol=1e-5, atol=1e-5)
        # a nested list becomes an array of the input's dtype
        np.testing.assert_allclose(m(xt.tolist(), r), ffn_ref(self.ffn_w, xt, r), rtol=1e-5, atol=1e-5)
        ro = np.ascontiguousarray(xt)
        ro.flags.writeable = False                        # read-only inputs are fine
        np.testing.assert_array_equal(m(ro, r), m(xt, r))
        m.num_threads = 1
        self.assertEqual(m.num_threads, 1)
        big_x, big_r = self.randn(4, 300, 8), self.randn(4, 300, 16)
        one = m(big_x, big_r)
        m.num_threads = 3
        np.testing.assert_array_equal(m(big_x, big_r), one)
        c = m.call_count
        m(big_x, big_r)
        self.assertEqual(m.call_count, c + 1)
        m.call_count = 0
        self.assertEqual(m.call_count, 0)


if __name__ == "__main__":
    unittest.main()
