"""cpu_bench.py: ours (model.so through the lispetorchc Python package)
against PyTorch 2 eager (SDPA), torch.compile and ONNX Runtime on the CPU,
in one process, on the same weights and inputs (bench/cpu.sh runs it).

    python3 bench/cpu_bench.py --models DIR --threads N [--quick]
        [--rounds R] [--iters N] [--no-compile] [--libtorch-bench EXE]
        [--out TABLE.md] [--only PART,...] [--pause-ms MS] [--no-bf16]

DIR holds what bench/cpu.sh compiled: per case NAME.so and, for the models
whose weights ours made (seed layer, Llama block, attention: the script's
random initial values), NAME.safetensors; the PyTorch side loads those same
tensors.  BERT goes the other way: HuggingFace's BertModel (random init,
seed 0) exports its parameters under their HF names and ours binds them.

Timing: after two warm-up calls of each implementation, R rounds; in each
round every implementation runs N calls in turn (ours, eager, compile, ORT),
so that a noisy neighbour hits all of them alike, with a 50 ms pause
(--pause-ms) before each implementation's turn; each call is timed with
perf_counter and the table gives the median of the R*N calls.  Every
implementation gets the same thread count: torch.set_num_threads,
ORT's intra_op_num_threads (inter_op 1), ours' threads=.

Outputs are checked against each other: the max abs diff of each
implementation's output against PyTorch eager's (float32 throughout).

bf16 (issue 14 item 5; --no-bf16 leaves it out): ours compiled with
--dtype bf16 (NAME_bf16.so, bench/cpu.sh) and PyTorch eager with the
model and inputs in torch.bfloat16, on the f32 weights and inputs rounded
to bf16 (ours binds NAME_bf16.w.safetensors, written here); their outputs
are compared with f32 eager's too (diff relative to max |out|).
One key=value line per measurement on stdout; a markdown table in --out.
"""
import math
import os
import subprocess
import sys
import time
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)                                  # gpu_models: llama_block, save_safetensors
sys.path.insert(0, os.path.join(HERE, "..", "python"))    # the lispetorchc package, from the source tree

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

import lispetorchc
from gpu_models import llama_block, save_safetensors

# The cases, as bench/cpu.sh compiles them (it reads the same table through
# `cpu_bench.py --list`): part, name, sizes.
LAYERS = [(2, 128, 256, 8, 1024), (8, 512, 512, 8, 2048), (1, 2048, 1024, 16, 4096)]
BERTS = [(8, 128), (1, 512), (32, 64)]
BERT_CFG = dict(V=1024, E=384, H=12, F=1536, L=6, P=512)
# A Llama-style block small enough for a CPU run: TinyLlama-1.1B's block
# (hidden 2048, 32 query heads / 4 kv heads of 64, SiLU-gated FFN 5632).
LLAMA_CFG = dict(E=2048, HQ=32, HKV=4, D=64, F=5632, P=2048)
LLAMAS = [(1, 512), (1, 2048)]
ATTNS = [(1, 8, 512, 64), (1, 8, 2048, 64)]       # B H S D, no mask
QUICK = {"layer": LAYERS[:1], "bert": BERTS[:1], "llama": LLAMAS[:1], "attn": ATTNS[:1]}


def cases(quick):
    pick = lambda part, full: QUICK[part] if quick else full
    out = []
    for b, s, e, h, f in pick("layer", LAYERS):
        out.append(("layer", f"layer_B{b}_S{s}_E{e}_H{h}_F{f}", dict(B=b, S=s, E=e, H=h, F=f)))
    for b, s in pick("bert", BERTS):
        out.append(("bert", f"bert_B{b}_S{s}", dict(B=b, S=s, **BERT_CFG)))
    for b, s in pick("llama", LLAMAS):
        out.append(("llama", f"llama_B{b}_S{s}", dict(B=b, S=s, **LLAMA_CFG)))
    for b, h, s, d in pick("attn", ATTNS):
        out.append(("attn", f"attn_B{b}_H{h}_S{s}_D{d}", dict(B=b, H=h, S=s, D=d)))
    return out


def opt(argv, name, default):
    return argv[argv.index(name) + 1] if name in argv else default


# ---- the PyTorch models (the same maths as bench/*.lsp.in) ----

def seed_layer(w, H):
    """bench/layer.lsp.in: post-LN layer, fused-attention MHA (q/k/v/out
    projections), ReLU FFN, LayerNorm eps 1e-5; weights under ours' names."""
    lin = lambda t, p: F.linear(t, w[p + ".weight"], w[p + ".bias"])

    def fwd(x):
        B, S, E = x.shape
        heads = lambda t: t.view(B, S, H, E // H).transpose(1, 2)
        a = F.scaled_dot_product_attention(heads(lin(x, "layer.attention.q_proj")),
                                           heads(lin(x, "layer.attention.k_proj")),
                                           heads(lin(x, "layer.attention.v_proj")))
        a = lin(a.transpose(1, 2).reshape(B, S, E), "layer.attention.out_proj")
        x1 = F.layer_norm(x + a, (E,), w["layer.norm1.weight"], w["layer.norm1.bias"], 1e-5)
        f = lin(torch.relu(lin(x1, "layer.ffn1")), "layer.ffn2")
        return F.layer_norm(x1 + f, (E,), w["layer.norm2.weight"], w["layer.norm2.bias"], 1e-5)
    return fwd


def hf_bert(c, path):
    """HuggingFace BertModel (SDPA attention, no pooler, eval), random init
    with seed 0; its parameters written to PATH for ours to bind."""
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=c["V"], hidden_size=c["E"], num_hidden_layers=c["L"], num_attention_heads=c["H"],
                     intermediate_size=c["F"], hidden_act="gelu", max_position_embeddings=c["P"],
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12)
    try:
        model = BertModel._from_config(cfg, attn_implementation="sdpa", add_pooling_layer=False)
    except TypeError:
        cfg._attn_implementation = "sdpa"
        model = BertModel(cfg, add_pooling_layer=False)
    model.eval().requires_grad_(False)    # inference only; the ONNX exporter keeps the weights as initialisers
    save_safetensors(path, dict(model.named_parameters()))
    return model


class Wrap(torch.nn.Module):
    """A function as a module, for torch.onnx.export (weights it closes
    over become initialisers)."""
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


# ---- the implementations ----

def ort_session(fn, inputs, path, threads):
    """Export fn(*inputs) with torch.onnx.export (the TorchScript exporter
    first, opset 17; the dynamo one if that fails) and open it in ONNX
    Runtime with every graph optimisation on.  Returns (run, exporter)."""
    import onnxruntime as ort
    mod = Wrap(fn).eval()
    names = [f"in{i}" for i in range(len(inputs))]
    errs = []
    for exporter in ("torchscript", "dynamo"):
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)   # the TorchScript exporter's notice
                torch.onnx.export(mod, tuple(inputs), path, input_names=names, output_names=["out"],
                                  opset_version=17 if exporter == "torchscript" else 18,
                                  dynamo=(exporter == "dynamo"), verbose=False)
            break
        except Exception as e:   # noqa: BLE001 - say why, try the other exporter
            errs.append(f"{exporter}: {type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}")
    else:
        raise RuntimeError("; ".join(errs))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    # no spinning after a run: the next implementation's run gets the cores
    # (the same courtesy OMP_WAIT_POLICY=PASSIVE asks of PyTorch's OpenMP)
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = {n: t.numpy() for n, t in zip(names, inputs)}
    # the exporter used, and why the TorchScript one did not do (the table's note)
    return (lambda: sess.run(None, feeds)[0]), exporter + (f" ({errs[0]})" if errs else "")


def build(part, name, c, models, threads, want_compile, want_bf16=True):
    """Returns (impls, note): impls maps a column to a zero-argument
    callable returning a float32 numpy array, or to a string saying why
    that column failed."""
    so = os.path.join(models, name + ".so")
    wpath = os.path.join(models, name + ".safetensors")
    g = torch.Generator().manual_seed(1)
    note = ""
    if part == "bert":
        hf = hf_bert(c, wpath)
        B, S = c["B"], c["S"]
        ids = torch.randint(1, c["V"], (B, S), generator=g)
        mask = torch.ones(B, S, dtype=torch.int64)
        for b in range(B):   # as bench/gpu_models.py: the last S/8 padded, and (b mod 4) S/8 more
            keep = S - S // 8 - (b % 4) * (S // 8)
            mask[b, keep:] = 0
            ids[b, keep:] = 0
        inputs = [ids, mask]
        fn = lambda i, m: hf(input_ids=i, attention_mask=m).last_hidden_state
        note = f"masked {int((mask == 0).sum())} of {B * S} tokens"
    else:
        w = load_file(wpath) if os.path.exists(wpath) else {}    # attention alone has no parameters
        if part == "layer":
            inputs = [torch.rand(c["B"], c["S"], c["E"], generator=g)]
            fn = seed_layer(w, c["H"])
        elif part == "llama":
            inputs = [torch.randn(c["B"], c["S"], c["E"], generator=g) * 0.5]
            fn = llama_block(w, c["HQ"], c["HKV"], c["D"])
        else:
            inputs = [torch.rand(c["B"], c["H"], c["S"], c["D"], generator=g) for _ in range(3)]
            fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v)
    np_inputs = [t.numpy() for t in inputs]

    impls = {}
    with warnings.catch_warnings():   # the random initial weights ours wrote are the point here
        warnings.simplefilter("ignore", RuntimeWarning)
        m = lispetorchc.load(so, weights=wpath if os.path.exists(wpath) else None, threads=threads)
    # ours' input dtypes (the mask may be bool or int64): convert, never silently inside the run
    np_inputs = [a.astype(info.numpy_dtype, copy=False) for a, info in zip(np_inputs, m.inputs)]
    impls["ours"] = lambda: m(*np_inputs)
    keep = [m]

    so16 = os.path.join(models, name + "_bf16.so")
    if want_bf16 and os.path.exists(so16):
        params = dict(hf.named_parameters()) if part == "bert" else w
        w16 = {k: v.detach().to(torch.bfloat16) for k, v in params.items()}
        w16path = os.path.join(models, name + "_bf16.w.safetensors")
        if w16:
            save_safetensors(w16path, w16)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m16 = lispetorchc.load(so16, weights=w16path if w16 else None, threads=threads)
        keep.append(m16)
        # bf16 tensors cross as uint16 bits (docs/python.md); ints and bools as they are
        bits = lambda t: t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        in16 = [bits(t) if info.dtype == "bfloat16" else a
                for t, a, info in zip(inputs, np_inputs, m16.inputs)]
        # a uint16 array holds bits; with ml_dtypes installed it is a bfloat16 array
        from_bits = lambda u: ((np.asarray(u).astype(np.uint32) << 16).view(np.float32) if np.asarray(u).dtype == np.uint16
                               else np.asarray(u, dtype=np.float32))
        impls["ours_bf16"] = lambda: from_bits(m16(*in16))
        t16 = [t.to(torch.bfloat16) if t.is_floating_point() else t for t in inputs]
        if part == "bert":
            import copy
            hf16 = copy.deepcopy(hf).to(torch.bfloat16)
            fn16 = lambda i, msk: hf16(input_ids=i, attention_mask=msk).last_hidden_state
        elif part == "layer":
            fn16 = seed_layer(w16, c["H"])
        elif part == "llama":
            fn16 = llama_block(w16, c["HQ"], c["HKV"], c["D"])
        else:
            fn16 = fn

        def eager16():
            with torch.no_grad():
                return fn16(*t16).float().numpy()
        impls["eager_bf16"] = eager16
    elif want_bf16:
        impls["ours_bf16"] = "not compiled (no " + name + "_bf16.so)"

    def eager():
        with torch.no_grad():
            return fn(*inputs).numpy()
    impls["eager"] = eager

    if want_compile:
        try:
            cfn = torch.compile(fn)
            t0 = time.perf_counter()
            with torch.no_grad():
                cfn(*inputs)
            note += (", " if note else "") + f"torch.compile {time.perf_counter() - t0:.0f} s"

            def compiled():
                with torch.no_grad():
                    return cfn(*inputs).numpy()
            impls["compile"] = compiled
        except Exception as e:  # noqa: BLE001 - the table says why
            impls["compile"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"
    else:
        impls["compile"] = "not run (--no-compile)"

    try:
        export_fn = llama_block(w, c["HQ"], c["HKV"], c["D"], native_gqa=False) if part == "llama" else fn
        impls["ort"], exporter = ort_session(export_fn, inputs, os.path.join(models, name + ".onnx"), threads)
        note += (", " if note else "") + f"ONNX by the {exporter} exporter"
    except Exception as e:  # noqa: BLE001
        impls["ort"] = f"failed: {type(e).__name__}: {str(e)[:160]}"
    return impls, note, keep


def median(ts):
    ts = sorted(ts)
    return ts[len(ts) // 2]


def libtorch_113(exe, part, name, c, models, threads):
    """bench/bench.cpp's libtorch 1.13 eager on the same weights (its own
    input): the seed layer only; None when not built (LTC_ORACLE=OFF)."""
    if part != "layer" or not exe or not os.access(exe, os.X_OK):
        return None
    try:
        line = subprocess.run([exe, "layer", os.path.join(models, name + ".so"), os.path.join(models, name + ".safetensors"),
                               *(str(c[k]) for k in "BSEHF"), str(threads)],
                              capture_output=True, text=True, timeout=300, check=True).stdout
        kv = dict(t.split("=", 1) for t in line.split() if "=" in t)
        return float(kv["torch_ms"])
    except Exception as e:  # noqa: BLE001
        print(f"libtorch 1.13: {name}: {e}", file=sys.stderr)
        return None


def main(argv):
    if "--list" in argv:     # for bench/cpu.sh: what to compile
        for part, name, c in cases("--quick" in argv):
            print(part, name, " ".join(f"{k}={v}" for k, v in c.items()))
        return 0
    models = opt(argv, "--models", None)
    if not models:
        print(__doc__, file=sys.stderr)
        return 2
    threads = int(opt(argv, "--threads", "2"))
    rounds, iters = int(opt(argv, "--rounds", "5")), int(opt(argv, "--iters", "3"))
    only = opt(argv, "--only", "")
    lt_exe = opt(argv, "--libtorch-bench", "")
    pause = float(opt(argv, "--pause-ms", "50")) / 1e3
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    rows = []
    for part, name, c in cases("--quick" in argv):
        if only and part not in only.split(","):
            continue
        t0 = time.time()
        try:
            impls, note, keep = build(part, name, c, models, threads, "--no-compile" not in argv,
                                      "--no-bf16" not in argv)
        except Exception as e:  # noqa: BLE001 - one broken case keeps the others
            traceback.print_exc()
            print(f"kind=cpu part={part} case={name} failed={type(e).__name__}", flush=True)
            rows.append((part, name, {}, {}, {}, {}, f"failed: {type(e).__name__}: {e}"[:200], None))
            continue
        live = {k: f for k, f in impls.items() if callable(f)}
        outs, times = {}, {k: [] for k in live}
        for k, f in live.items():     # warm-up, and the outputs compared
            try:
                outs[k] = np.asarray(f(), dtype=np.float32)
                f()
            except Exception as e:  # noqa: BLE001
                impls[k] = f"failed: {type(e).__name__}: {str(e)[:120]}"
        live = {k: f for k, f in live.items() if k in outs}
        for _ in range(rounds):
            for k, f in live.items():
                time.sleep(pause)     # workers that linger after the previous implementation's calls settle
                for _ in range(iters):
                    t = time.perf_counter()
                    f()
                    times[k].append((time.perf_counter() - t) * 1e3)
        ms = {k: median(v) for k, v in times.items() if v}
        mins = {k: min(v) for k, v in times.items() if v}
        ref = outs.get("eager")
        diffs = {k: float(np.abs(o - ref).max()) for k, o in outs.items() if ref is not None and k != "eager"
                 and o.shape == ref.shape}
        lt = libtorch_113(lt_exe, part, name, c, models, threads)
        if lt is not None:
            ms["libtorch"] = lt
            print(f"kind=libtorch part={part} case={name} threads={threads} ms={lt:.3f} (bench/bench.cpp, its own rounds)",
                  flush=True)
        for k in impls:
            if k in ms:
                print(f"kind={k} part={part} case={name} threads={threads} ms={ms[k]:.3f} "
                      f"min_ms={min(times[k]):.3f} n={len(times[k])}"
                      + (f" max_abs_diff_vs_eager={diffs[k]:.3g}" if k in diffs else ""), flush=True)
            else:
                print(f"kind={k} part={part} case={name} {impls[k]}", flush=True)
        print(f"kind=case part={part} case={name} wall_s={time.time() - t0:.0f} {note}", flush=True)
        rows.append((part, name, ms, mins, diffs, impls, note, float(np.abs(ref).max()) if ref is not None else None))
        del keep
    table = render(rows, threads, rounds, iters)
    print(table)
    if opt(argv, "--out", ""):
        with open(opt(argv, "--out", ""), "w") as f:
            f.write(table)
    return 0


def render(rows, threads, rounds, iters):
    cols = [("ours", "ours"), ("eager", "eager (SDPA)"), ("compile", "torch.compile"), ("ort", "ORT"),
            ("libtorch", "libtorch 1.13"), ("ours_bf16", "ours bf16"), ("eager_bf16", "eager bf16")]
    fmt = lambda v: f"{v:.2f}" if v >= 1 else f"{v:.3f}"
    out = [f"threads={threads}, median (minimum) of {rounds} alternating rounds x {iters} calls; ms per forward, float32; "
           "ratio = ours / theirs (below 1: ours faster); diff = max abs diff against eager's output", "",
           "bf16 columns: ours with --dtype bf16 and PyTorch eager in torch.bfloat16; ours f32/bf16 is the "
           "speed-up of bf16 over our f32 (above 1: bf16 faster); rel diff bf16 = max abs diff of ours bf16 against "
           "f32 eager / max |out|", "",
           "| case | " + " | ".join(h + " ms" for _, h in cols) + " | ours/eager | ours/compile | ours/ORT "
           "| ours/libtorch | ours f32/bf16 | ours bf16/eager bf16 | diff ours | diff compile | diff ORT "
           "| rel diff bf16 | notes |",
           "|---" * (len(cols) + 12) + "|"]
    for part, name, ms, mins, diffs, impls, note, ref_max in rows:
        cells = []
        for k, _ in cols:
            if k in ms:
                cells.append(fmt(ms[k]) + (f" ({fmt(mins[k])})" if k in mins else ""))
            elif k == "libtorch":
                cells.append("-")
            else:
                cells.append(impls.get(k, "-") if isinstance(impls.get(k), str) else "-")
        ratio = lambda k: f"{ms['ours'] / ms[k]:.2f}" if "ours" in ms and k in ms else "-"
        diff = lambda k: f"{diffs[k]:.1e}" if k in diffs else "-"
        if ref_max is not None:
            note = (note + ", " if note else "") + f"max abs out {ref_max:.2g}"
        cells = [x.replace("|", "/") for x in cells]     # an error message must not split a cell
        note = note.replace("|", "/")
        r2 = lambda a, b: f"{ms[a] / ms[b]:.2f}" if a in ms and b in ms else "-"
        rel16 = f"{diffs['ours_bf16'] / ref_max:.1e}" if "ours_bf16" in diffs and ref_max else "-"
        out.append(f"| {name} | " + " | ".join(cells) + f" | {ratio('eager')} | {ratio('compile')} | {ratio('ort')} "
                   f"| {ratio('libtorch')} | {r2('ours', 'ours_bf16')} | {r2('ours_bf16', 'eager_bf16')} "
                   f"| {diff('ours')} | {diff('compile')} | {diff('ort')} | {rel16} | {note} |")
    return "\n".join(line.replace("\n", " ") for line in out) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
