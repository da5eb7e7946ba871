"""gpu_tables.py: bench/gpu.sh device's bench.txt as markdown, one table per
part with the ratios (docs/performance.md shows them as they come out).

    python3 bench/gpu_tables.py bench.txt > bench.md

Each measurement line is key=value words (kind=, part=, ...); a line with
failed= or without a time shows as "failed".  Ratios: "x faster" is the
other's time over ours (> 1: ours is faster); TFLOP/s ratios are ours over
theirs.  Plain Python, no third-party module.
"""
import sys


def fields(line):
    out = {}
    for w in line.split():
        if "=" in w:
            k, v = w.split("=", 1)
            out.setdefault(k, v)
    return out


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError, TypeError):
        return None


def f(v, fmt="{:.3f}"):
    return "failed" if v is None else fmt.format(v)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def ours_ms(d):
    return None if "failed" in d else num(d, "dev_ms")


def main(path):
    recs = [fields(l) for l in open(path)]
    other = [l.rstrip() for l in open(path) if l.startswith(("gpu:", "torch:", "transformers:", "part:"))]
    by = lambda part, kind: [r for r in recs if r.get("part") == part and r.get("kind", "").startswith(kind)]
    md = ["# GPU benchmark (bench/gpu.sh device)\n", "\n".join("    " + l for l in other) + "\n"]

    rows = []
    for o in by("layer", "ours"):
        key = (o.get("shape"), o.get("dtype"))
        t = {r["kind"]: (None if "failed" in r else num(r, "ms")) for r in by("layer", "torch")
             if (r.get("shape"), r.get("dtype")) == key}
        ms = ours_ms(o)
        rows.append([key[0], key[1], f(ms), f(None if "failed" in o else num(o, "host_ms")), f(t.get("torch_eager")),
                     f(t.get("torch_compile")) if "torch_compile" in t else "-",
                     f(ratio(t.get("torch_eager"), ms), "{:.2f}x"),
                     f(ratio(t.get("torch_compile"), ms), "{:.2f}x") if "torch_compile" in t else "-"])
    if rows:
        md += ["## layer: the seed layer, ms (ours: device tensors; host: staged by the runtime)\n",
               table(["shape", "dtype", "ours", "ours host", "eager", "compile", "eager / ours", "compile / ours"], rows)]

    rows = []
    for o in by("attn", "ours"):
        key = tuple(o.get(k) for k in ("B", "H", "S", "D", "causal"))
        b, h, s, dd, c = (int(v) for v in key)
        flops = 4 * b * h * s * s * dd / (2 if c else 1)
        ms = ours_ms(o)
        tf = None if ms is None else flops / ms / 1e9
        t = {r["kind"][5:]: r for r in by("attn", "sdpa") if tuple(r.get(k) for k in ("B", "H", "S", "D", "causal")) == key}
        tt = lambda n: None if n not in t or "failed" in t[n] else num(t[n], "tflops")
        mb = lambda n: "-" if n not in t or "failed" in t[n] else t[n].get("run_mb", "-")
        r64 = [r for r in by("attn64", "ours") if tuple(r.get(k) for k in ("B", "H", "S", "D", "causal")) == key]
        ms64 = ours_ms(r64[0]) if r64 else None
        tf64 = None if ms64 is None else flops / ms64 / 1e9
        rows.append([f"B{b} H{h} S{s} D{dd}", "yes" if c else "no", f(ms), f(tf, "{:.1f}"), f(tf64, "{:.1f}") if r64 else "-",
                     f(tt("flash"), "{:.1f}"),
                     f(tt("cudnn"), "{:.1f}"), f(tt("efficient"), "{:.1f}"),
                     f(tt("math"), "{:.1f}") if "math" in t else "-",
                     f(ratio(tf, tt("flash")), "{:.2f}"), f(ratio(tf, tt("cudnn")), "{:.2f}"),
                     o.get("run_mb", "-"), mb("flash"), mb("math")])
    if rows:
        md += ["## attn: attention alone, bf16, TFLOP/s (4 B H S^2 D, half when causal); memory beyond the tensors, MB\n",
               table(["shape", "causal", "ours ms", "ours", "ours r64", "flash", "cuDNN", "efficient", "math", "ours / flash",
                      "ours / cuDNN", "ours MB", "flash MB", "math MB"], rows)]

    rows = []
    for o in by("bert", "ours"):
        key = (o.get("shape"), o.get("dtype"))
        t = {r["kind"]: r for r in by("bert", "hf") if (r.get("shape"), r.get("dtype")) == key}
        tm = lambda n: None if n not in t or "failed" in t[n] else num(t[n], "ms")
        c = [r for r in by("bert", "cmp") if (r.get("shape"), r.get("dtype")) == key]
        ms = ours_ms(o)
        masked = t.get("hf_eager", {}).get("masked", "-")
        rows.append([key[0], key[1], f(ms), f(tm("hf_eager")), f(tm("hf_compile")),
                     f(ratio(tm("hf_eager"), ms), "{:.2f}x"), f(ratio(tm("hf_compile"), ms), "{:.2f}x"),
                     c[0].get("max_abs_diff", "failed") if c else "-", masked])
    if rows:
        md += ["## bert: 6-layer BERT encoder (hidden 384, 12 heads, FFN 1536), embeddings included on both sides, "
               "ms; max abs diff of last_hidden_state against HF eager on the same weights\n",
               table(["shape", "dtype", "ours", "HF eager", "HF compile", "eager / ours", "compile / ours",
                      "max abs diff", "masked tokens"], rows)]

    rows = []
    for o in by("llama", "ours"):
        key = o.get("shape")
        t = [r for r in by("llama", "torch_eager") if r.get("shape") == key]
        te = None if not t or "failed" in t[0] else num(t[0], "ms")
        c = [r for r in by("llama", "cmp") if r.get("shape") == key]
        ms = ours_ms(o)
        tf = num(t[0], "tflops") if t and te else None
        rows.append([key, f(ms), f(te), f(ratio(ms, te), "{:.2f}"),
                     f(None if tf is None or ms is None else tf * te / ms, "{:.0f}"), f(tf, "{:.0f}"),
                     c[0].get("max_abs_diff", "failed") if c else "-"])
    if rows:
        md += ["## llama: Llama block with GQA (E4096, 32/8 heads, FFN 14336), bf16, ms (target: ours / eager <= 0.95)\n",
               table(["shape", "ours", "eager", "ours / eager", "ours TFLOP/s", "eager TFLOP/s", "max abs diff"], rows)]

    rows = []
    for o in by("gemm", "ours"):
        key = tuple(o.get(k) for k in ("M", "N", "K"))
        m, n, k = (int(v) for v in key)
        ms = ours_ms(o)
        tf = None if ms is None else 2 * m * n * k / ms / 1e9
        t = [r for r in by("gemm", "cublas") if tuple(r.get(x) for x in ("M", "N", "K")) == key]
        tc = None if not t or "failed" in t[0] else num(t[0], "tflops")
        rows.append([f"{m} x {n} x {k}", f(ms), f(tf, "{:.0f}"), f(tc, "{:.0f}"), f(ratio(tf, tc), "{:.2f}")])
    if rows:
        md += ["## gemm: y = x W^T in bf16, M x N x K, TFLOP/s (2 M N K / t; target ours / cuBLAS >= 0.9)\n",
               table(["M x N x K", "ours ms", "ours", "cuBLAS (torch.matmul)", "ours / cuBLAS"], rows)]

    rows = []
    comp = {r.get("model"): r for r in recs if r.get("kind") == "compile"}
    for n, c in comp.items():
        o = [r for r in by("compile", "ours") if r.get("name") == n]
        o = o[0] if o and "failed" not in o[0] else {}
        rows.append([n, f(num(c, "compile_ms"), "{:.0f}"), c.get("so_kb", "-"), f(num(o, "open_ms"), "{:.1f}"),
                     f(num(o, "bind_ms"), "{:.1f}"), f(num(o, "first_ms"), "{:.1f}")])
    if rows:
        md += ["## compile: cold compile (lispetorchc --target cuda, NVRTC included, on the prepare machine), "
               "and on the GPU in a fresh process: ltc_model_open, weight binding (random weights), first run; "
               "the driver, context and module load fall in open or the first run, wherever the runtime does them; ms\n",
               table(["model", "compile ms", ".so KiB", "open ms", "bind ms", "first run ms"], rows)]

    prof = [l.rstrip()[len("profile: "):] for l in open(path) if l.startswith("profile: ")]
    if prof:
        md += ["## profile: the layer's kernels at [B4 S2048 E1024] (LTC_CUDA_PROFILE=1)\n",
               "```\n" + "\n".join(prof) + "\n```\n"]
    print("\n".join(md))


if __name__ == "__main__":
    main(sys.argv[1])
