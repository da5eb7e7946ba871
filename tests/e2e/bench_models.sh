#!/usr/bin/env bash
# bench_models.sh: the GPU benchmark's models (bench/gpu_bert.lsp.in,
# bench/gpu_llama.lsp.in) at small sizes on the CPU target, and the bench
# host's file plumbing (ltc_gpu_bench --host-only --weights/--input/--output).
#
#   bench_models.sh LISPETORCHC SO_CHECK ST_RUN ST_COMPARE GPU_BENCH SRC WORK
#
# 1. The BERT benchmark model, fed tests/e2e/inputs/bert/make_weights.lsp's
#    HF-named weights (the layout HuggingFace's state_dict has), against
#    the interpreter at sizes other than the traced ones (ltc_so_check: its
#    i64 mask inputs in [0, 4) have zeros, so padding is masked), and with
#    an all-true mask against the independent tests/e2e/inputs/bert/bert.lsp
#    run by the interpreter on the same weights and ids.
# 2. ltc_gpu_bench --host-only with raw ids and mask files writes, byte for
#    byte, what st_run computes from the same values given by name (so the
#    inputs go in the order the device step assumes: 0 ids, 1 mask).
# 3. The Llama GQA block against the interpreter at ragged sizes and S = 1.
set -euo pipefail
LTC=$1 CHECK=$2 ST_RUN=$3 ST_CMP=$4 BENCH=$5 SRC=$6 W=$7
rm -rf "$W" && mkdir -p "$W" && cd "$W"

# 1. BERT: the sizes of make_weights.lsp (V50 E16 F32 L2 P32), 2 heads
sed "s/@V@/50/; s/@E@/16/; s/@H@/2/; s/@F@/32/; s/@L@/2/; s/@P@/32/" "$SRC/bench/gpu_bert.lsp.in" >bert.lsp
"$LTC" run "$SRC/tests/e2e/inputs/bert/make_weights.lsp" >/dev/null
"$LTC" bert.lsp -o bert_init.so 2>/dev/null   # so_check runs the script's own initial weights
"$CHECK" bert.lsp bert_init.so B=3 S=11
"$CHECK" bert.lsp bert_init.so B=1 S=7
"$LTC" bert.lsp --weights hf.safetensors -o bert.so 2>/dev/null
# bert.lsp's ids, every token real
cat >inputs.lsp <<'LSP'
(setq ids (tensor_create (list (integers 1 7 42 3 9) (integers 0 2 5 49 11))))
(setq mask (tensor_create (list (integers 1 1 1 1 1) (integers 1 1 1 1 1))))
LSP
"$LTC" run inputs.lsp --save-tensors in.st
"$ST_RUN" bert.so hf.safetensors in.st out.st y
"$LTC" run --interpret "$SRC/tests/e2e/inputs/bert/bert.lsp" --weights hf.safetensors --save-tensors ref.st >/dev/null
"$ST_CMP" out.st ref.st 1e-4

# 2. the same run through the bench host, the inputs as raw little-endian i64
i64() { for v in "$@"; do printf "\\x$(printf %02x "$v")\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; done; }
i64 1 7 42 3 9 0 2 5 49 11 >ids.bin
i64 1 1 1 1 1 1 1 1 1 1 >mask.bin
"$BENCH" bert.so B=2 S=5 --host-only --iters 2 --weights hf.safetensors --input 0=ids.bin --input 1=mask.bin --output out.bin
n=$(stat -c %s out.bin)
[ "$n" -eq $((2 * 5 * 16 * 4)) ] || { echo "bench_models: out.bin has $n bytes"; exit 1; }
tail -c "$n" out.st | cmp - out.bin   # y is out.st's only tensor: its last bytes
echo "bench_models: ltc_gpu_bench output equals st_run's"
# a padded second sequence changes its outputs, not the first one's
i64 1 1 1 1 1 1 1 1 0 0 >pad.bin
"$BENCH" bert.so B=2 S=5 --host-only --iters 1 --weights hf.safetensors --input 0=ids.bin --input 1=pad.bin --output pad_out.bin >/dev/null
cmp -n $((5 * 16 * 4)) out.bin pad_out.bin
if cmp -s out.bin pad_out.bin; then echo "bench_models: the padding mask changed nothing"; exit 1; fi
# a file of the wrong size is refused
if "$BENCH" bert.so B=2 S=4 --host-only --iters 1 --input 0=ids.bin 2>err.txt; then echo "bench_models: wrong size accepted"; exit 1; fi
grep -q "not exactly the input's size" err.txt

# 3. the Llama block with GQA (4 query heads, 2 kv heads)
sed "s/@E@/64/; s/@HQ@/4/; s/@HKV@/2/; s/@D@/16/; s/@F@/96/; s/@P@/32/" "$SRC/bench/gpu_llama.lsp.in" >llama.lsp
"$LTC" llama.lsp -o llama.so 2>/dev/null
"$CHECK" llama.lsp llama.so B=3 S=7
"$CHECK" llama.lsp llama.so B=1 S=1
"$CHECK" llama.lsp llama.so B=2 S=32
echo "bench_models: ok"
