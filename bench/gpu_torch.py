"""gpu_torch.py: the seed transformer layer (bench/layer.lsp.in) in PyTorch
on the GPU, timed as bench/gpu_bench.c times ours: median and minimum of N
forwards after warm-up, each timed with CUDA events.

    python3 bench/gpu_torch.py B S E H F [--dtype f32|bf16] [--iters N] [--compile]
    python3 bench/gpu_torch.py attn B H S D [--causal] [--math] [--iters N]

Prints one line: kind=torch_eager (or torch_compile) ... ms=... min_ms=...
The attn form times F.scaled_dot_product_attention alone in bf16 (bench/
gpu_attn.lsp.in) with each SDPA backend that runs it (flash, cuDNN,
memory-efficient): kind=sdpa_<backend> ... ms=... tflops=... run_mb=...
(memory beyond q, k, v and the output, from max_memory_allocated).
fp32 matrix products stay fp32 (TF32 off, PyTorch's default), as ours are.
"""
import sys
import torch
import torch.nn.functional as F


def layer(E, H, Fd, dt):
    lin = lambda i, o: torch.nn.Linear(i, o, device="cuda", dtype=dt)
    m = torch.nn.ModuleDict(dict(q=lin(E, E), k=lin(E, E), v=lin(E, E), o=lin(E, E), f1=lin(E, Fd), f2=lin(Fd, E),
                                 n1=torch.nn.LayerNorm(E, device="cuda", dtype=dt),
                                 n2=torch.nn.LayerNorm(E, device="cuda", dtype=dt)))

    def fwd(x):
        B, S, _ = x.shape
        h = lambda t: t.view(B, S, H, E // H).transpose(1, 2)
        a = F.scaled_dot_product_attention(h(m["q"](x)), h(m["k"](x)), h(m["v"](x)))
        a = m["o"](a.transpose(1, 2).reshape(B, S, E))
        x1 = m["n1"](x + a)
        return m["n2"](x1 + m["f2"](torch.relu(m["f1"](x1))))
    return fwd


def timed(fn, x, iters):
    with torch.no_grad():
        for _ in range(5):
            fn(x)
        torch.cuda.synchronize()
        ts = []
        for _ in range(iters):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn(x)
            b.record()
            b.synchronize()
            ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2], ts[0]


def attn(argv):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    B, H, S, D = (int(v) for v in argv[:4])
    causal = "--causal" in argv
    iters = int(argv[argv.index("--iters") + 1]) if "--iters" in argv else 20
    q, k, v = (torch.rand(B, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    io = 4 * q.numel() * q.element_size()
    flops = 4 * B * H * S * S * D * (0.5 if causal else 1.0)
    backends = [("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                ("efficient", SDPBackend.EFFICIENT_ATTENTION)]
    if "--math" in argv:     # the unfused path: S x S scores in memory
        backends.append(("math", SDPBackend.MATH))
    for name, be in backends:
        try:
            with sdpa_kernel(be):
                fn = lambda _: F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                med, mn = timed(fn, None, iters)
                peak = torch.cuda.max_memory_allocated() - base
        except Exception as e:  # a backend that does not run this shape (or runs out of memory) says so
            torch.cuda.empty_cache()
            print(f"kind=sdpa_{name} B={B} H={H} S={S} D={D} causal={int(causal)} failed={type(e).__name__}", flush=True)
            continue
        print(f"kind=sdpa_{name} B={B} H={H} S={S} D={D} causal={int(causal)} ms={med:.4f} min_ms={mn:.4f} "
              f"tflops={flops / med / 1e9:.1f} run_mb={max(peak - io / 4, 0) / 1048576:.1f} iters={iters}", flush=True)


def main(argv):
    if argv and argv[0] == "attn":
        return attn(argv[1:])
    B, S, E, H, Fd = (int(v) for v in argv[:5])
    dt = torch.bfloat16 if "--dtype" in argv and argv[argv.index("--dtype") + 1] == "bf16" else torch.float32
    iters = int(argv[argv.index("--iters") + 1]) if "--iters" in argv else 50
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    fwd = layer(E, H, Fd, dt)
    x = torch.rand(B, S, E, device="cuda", dtype=dt)
    kinds = [("torch_eager", fwd)]
    if "--compile" in argv:
        kinds.append(("torch_compile", torch.compile(fwd)))
    for name, fn in kinds:
        med, mn = timed(fn, x, iters)
        print(f"kind={name} shape=B{B}_S{S}_E{E}_H{H}_F{Fd} dtype={'bf16' if dt == torch.bfloat16 else 'f32'} "
              f"ms={med:.4f} min_ms={mn:.4f} iters={iters}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
