"""gpu_models.py: the PyTorch side of bench/gpu.sh's bert, llama and gemm
parts, timed as bench/gpu_bench.c times ours (median and minimum of N
forwards after 5 warm-ups, each between two CUDA events).

    python3 bench/gpu_models.py bert DIR --dtype f32|bf16 --shapes 8x128,1x512 [--iters N] [--vocab V]
    python3 bench/gpu_models.py llama DIR --shapes 1x2048,4x2048 [--iters N]
    python3 bench/gpu_models.py gemm M,N,K [M,N,K...] [--iters N]
    python3 bench/gpu_models.py cmp REF.bin OURS.bin f32|bf16 LABEL

bert: HuggingFace transformers' BertModel (random init from a BertConfig:
hidden 384, 12 heads, FFN 1536, 6 layers, GELU, 512 positions, no pooler,
attn_implementation "sdpa", eval, no_grad), eager and torch.compile.
llama: one Llama block with grouped-query attention (E4096, 32 query / 8
kv heads of 128, FFN 14336, RMSNorm eps 1e-5, rotary rotate_half base
10000, SiLU-gated FFN, causal SDPA with enable_gqa), bf16, eager.
Both write into DIR the weights as safetensors under the names
bench/gpu_bert.lsp.in / gpu_llama.lsp.in give their parameters
(weights.safetensors, the model's dtype), and per shape BxS the inputs as
raw little-endian bytes (bert: ids_BxS.bin, mask_BxS.bin, int64; llama:
x_BxS.bin, bf16) and the eager output as raw f32 (ref_BxS.bin), which
bench/gpu.sh feeds to ltc_gpu_bench (--weights, --input, --output) and
compares with `cmp`.  The padding mask masks the last S/8 tokens of
every sequence and a further (b mod 4)*S/8 of sequence b.
gemm: torch.matmul(x [M,K], w [N,K]^T) in bf16 (cuBLAS), TFLOP/s = 2MNK/t.
fp32 matrix products stay fp32 (TF32 off, PyTorch's default), as ours are.
Prints one line per measurement: kind=... part=... ms=... min_ms=...
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F


def opt(argv, name, default):
    return argv[argv.index(name) + 1] if name in argv else default


def timed(fn, iters):
    with torch.no_grad():
        for _ in range(5):
            fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(iters):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2], ts[0]


def save_safetensors(path, tensors):
    """tensors: name -> tensor (f32 or bf16), written as the safetensors
    format says: an 8-byte little-endian header length, the JSON header
    (name -> dtype, shape, [begin, end) in the data), padded with spaces to
    a multiple of 8, then the data."""
    names = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64"}
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for raw in blobs:
            f.write(raw)


def save_raw(path, t):
    t = t.detach().contiguous().cpu()
    with open(path, "wb") as f:
        f.write(t.view(torch.uint8).numpy().tobytes())


def shapes(argv):
    return [tuple(int(v) for v in s.split("x")) for s in opt(argv, "--shapes", "").split(",") if s]


def bert(argv):
    from transformers import BertConfig, BertModel
    d, dtname = argv[0], opt(argv, "--dtype", "f32")
    dt = torch.bfloat16 if dtname == "bf16" else torch.float32
    iters, vocab = int(opt(argv, "--iters", "30")), int(opt(argv, "--vocab", "1024"))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=vocab, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                     intermediate_size=1536, hidden_act="gelu", max_position_embeddings=512,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12)
    try:
        model = BertModel._from_config(cfg, attn_implementation="sdpa", add_pooling_layer=False)
    except TypeError:        # an older transformers: set the field itself
        cfg._attn_implementation = "sdpa"
        model = BertModel(cfg, add_pooling_layer=False)
    model = model.to("cuda", dt).eval()
    attn_impl = getattr(model.config, "_attn_implementation", "?")
    # the parameters only (no position_ids / token_type_ids buffers), as ours names them
    save_safetensors(os.path.join(d, "weights.safetensors"), dict(model.named_parameters()))
    compiled = torch.compile(model)
    g = torch.Generator(device="cuda").manual_seed(1)
    for B, S in shapes(argv):
        ids = torch.randint(1, vocab, (B, S), device="cuda", generator=g)
        mask = torch.ones(B, S, dtype=torch.int64, device="cuda")
        for b in range(B):
            keep = S - S // 8 - (b % 4) * (S // 8)
            mask[b, keep:] = 0
            ids[b, keep:] = 0        # pad token
        tag = f"{B}x{S}"
        save_raw(os.path.join(d, f"ids_{tag}.bin"), ids)
        save_raw(os.path.join(d, f"mask_{tag}.bin"), mask)
        with torch.no_grad():
            ref = model(input_ids=ids, attention_mask=mask).last_hidden_state
        save_raw(os.path.join(d, f"ref_{tag}.bin"), ref.float())
        for kind, m in (("hf_eager", model), ("hf_compile", compiled)):
            t0 = time.time()
            try:
                med, mn = timed(lambda: m(input_ids=ids, attention_mask=mask), iters)
            except Exception as e:   # say so, keep the other measurements
                print(f"kind={kind} part=bert shape=B{B}_S{S} dtype={dtname} failed={type(e).__name__}: {e}", flush=True)
                continue
            print(f"kind={kind} part=bert shape=B{B}_S{S} dtype={dtname} ms={med:.4f} min_ms={mn:.4f} iters={iters} "
                  f"attn={attn_impl} wall_s={time.time() - t0:.1f} masked={int((mask == 0).sum())}", flush=True)


def rms_norm(x, w, eps):
    """x / sqrt(mean(x^2) + eps) * w, the statistic in f32 (as HF Llama's)."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def rotate_half(t):
    h = t.shape[-1] // 2
    return torch.cat((-t[..., h:], t[..., :h]), dim=-1)


def llama_block(w, HQ, HKV, D, native_gqa=True):
    """bench/gpu_llama.lsp.in as a PyTorch function of x (any size; the
    GPU bench and bench/cpu_bench.py): RMSNorm, rotary rotate_half from
    ours' cos/sin tables, causal GQA SDPA, SiLU-gated FFN.  native_gqa=False
    (or a PyTorch before 2.5) repeats K and V per query group instead of
    enable_gqa: the same values (an ONNX exporter lacks enable_gqa)."""
    def sdpa(q, k, v):
        if native_gqa:
            try:
                return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            except TypeError:
                pass
        g = q.shape[1] // k.shape[1]
        return F.scaled_dot_product_attention(q, k.repeat_interleave(g, 1), v.repeat_interleave(g, 1), is_causal=True)

    def block(x):
        B, S, _ = x.shape
        cos, sin = w["blk.rope.cos_cached"][:S], w["blk.rope.sin_cached"][:S]
        rot = lambda t: t * cos + rotate_half(t) * sin
        heads = lambda y, n: y.view(B, S, n, D).transpose(1, 2)
        h = rms_norm(x, w["blk.attn_norm"], 1e-5)
        q = rot(heads(h @ w["blk.wq.weight"].t(), HQ))
        k = rot(heads(h @ w["blk.wk.weight"].t(), HKV))
        v = heads(h @ w["blk.wv.weight"].t(), HKV)
        a = sdpa(q, k, v).transpose(1, 2).reshape(B, S, HQ * D)
        x1 = x + a @ w["blk.wo.weight"].t()
        h2 = rms_norm(x1, w["blk.ffn_norm"], 1e-5)
        gu = F.silu(h2 @ w["blk.w_gate.weight"].t()) * (h2 @ w["blk.w_up.weight"].t())
        return x1 + gu @ w["blk.w_down.weight"].t()
    return block


def llama(argv):
    d, iters = argv[0], int(opt(argv, "--iters", "10"))
    E, HQ, HKV, D, Fd, P = 4096, 32, 8, 128, 14336, int(opt(argv, "--positions", "8192"))
    dt = torch.bfloat16
    torch.manual_seed(0)
    lin = lambda o, i: (torch.randn(o, i, device="cuda") / math.sqrt(i)).to(dt)
    w = {"blk.attn_norm": (torch.rand(E, device="cuda") + 0.5).to(dt),
         "blk.wq.weight": lin(HQ * D, E), "blk.wk.weight": lin(HKV * D, E), "blk.wv.weight": lin(HKV * D, E),
         "blk.wo.weight": lin(E, HQ * D), "blk.ffn_norm": (torch.rand(E, device="cuda") + 0.5).to(dt),
         "blk.w_gate.weight": lin(Fd, E), "blk.w_up.weight": lin(Fd, E), "blk.w_down.weight": lin(E, Fd)}
    # the rotary tables ours holds as parameters (torch_rotary_embedding D P):
    # position p, column i: cos / sin of p * 10000^(-2 (i mod D/2) / D)
    inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2, device="cuda").float() / D))
    fr = torch.outer(torch.arange(P, device="cuda").float(), inv)
    emb = torch.cat((fr, fr), dim=-1)
    w["blk.rope.cos_cached"], w["blk.rope.sin_cached"] = emb.cos().to(dt), emb.sin().to(dt)
    save_safetensors(os.path.join(d, "weights.safetensors"), w)

    block = llama_block(w, HQ, HKV, D)

    g = torch.Generator(device="cuda").manual_seed(1)
    for B, S in shapes(argv):
        x = (torch.randn(B, S, E, device="cuda", generator=g) * 0.5).to(dt)
        tag = f"{B}x{S}"
        save_raw(os.path.join(d, f"x_{tag}.bin"), x)
        with torch.no_grad():
            save_raw(os.path.join(d, f"ref_{tag}.bin"), block(x).float())
        med, mn = timed(lambda: block(x), iters)
        flops = 2 * B * S * E * (HQ * D + 2 * HKV * D + HQ * D + 3 * Fd) + 4 * B * HQ * S * S * D / 2
        print(f"kind=torch_eager part=llama shape=B{B}_S{S} dtype=bf16 ms={med:.4f} min_ms={mn:.4f} iters={iters} "
              f"tflops={flops / med / 1e9:.1f}", flush=True)


def gemm(argv):
    iters = int(opt(argv, "--iters", "30"))
    for spec in argv:
        if spec.startswith("--"):
            break
        M, N, K = (int(v) for v in spec.split(","))
        x = torch.randn(M, K, device="cuda").to(torch.bfloat16)
        wt = torch.randn(N, K, device="cuda").to(torch.bfloat16)
        med, mn = timed(lambda: torch.matmul(x, wt.t()), iters)
        print(f"kind=cublas part=gemm M={M} N={N} K={K} dtype=bf16 ms={med:.4f} min_ms={mn:.4f} iters={iters} "
              f"tflops={2 * M * N * K / med / 1e9:.1f}", flush=True)


def cmp(argv):
    ref_path, ours_path, dtname, label = argv[:4]
    ref = torch.frombuffer(bytearray(open(ref_path, "rb").read()), dtype=torch.float32)
    ours = torch.frombuffer(bytearray(open(ours_path, "rb").read()),
                            dtype=torch.bfloat16 if dtname == "bf16" else torch.float32).float()
    if ours.numel() != ref.numel():
        print(f"kind=cmp {label} failed=size ours={ours.numel()} ref={ref.numel()}", flush=True)
        return 1
    diff = (ours - ref).abs()
    bad = int(torch.isnan(ours).sum() + torch.isinf(ours).sum())
    print(f"kind=cmp {label} max_abs_diff={float(diff.max()):.3g} mean_abs_diff={float(diff.mean()):.3g} "
          f"max_abs_ref={float(ref.abs().max()):.3g} nonfinite={bad}", flush=True)
    return 0


def main(argv):
    parts = {"bert": bert, "llama": llama, "gemm": gemm, "cmp": cmp}
    if not argv or argv[0] not in parts:
        print(__doc__, file=sys.stderr)
        return 2
    return parts[argv[0]](argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
