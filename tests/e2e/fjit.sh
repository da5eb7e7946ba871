#!/usr/bin/env bash
# fjit.sh LTC ST_COMPARE INPUTS WORK CASE [HOST]: the function JIT (docs/jit.md,
# frontend/jit_call.c, engine/call.c), one case per CTest test.  Each case
# runs a script with LTC_LOG=jit (no disk cache), checks what the log and
# the notes say, and compares stdout and every saved tensor with
# `run --interpret` (st_compare, 1e-4).
set -u
ltc=$1 st_compare=$2 inputs=$3 work=$4 case=$5 host=${6:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 2
export LTC_CACHE=off LTC_LOG=jit
fail=0
bad() { echo "FAIL ($case): $*"; fail=1; }
has() { grep -qE -- "$2" "$1" || { bad "$1 lacks: $2"; sed 's/^/    /' "$1"; }; }
count() { local n; n=$(grep -cE -- "$2" "$1"); [ "$n" -eq "$3" ] || { bad "$1: '$2' $n times, not $3"; sed 's/^/    /' "$1"; }; }
# same SCRIPT [args...]: run it compiled and interpreted; same stdout, same tensors
same() {
    local script=$inputs/$1; shift
    "$ltc" run "$@" "$script" --save-tensors jit.st >jit.out 2>jit.err </dev/null || { bad "run exited $?"; cat jit.err; }
    "$ltc" run --interpret "$script" --save-tensors ref.st >ref.out 2>ref.err </dev/null || { bad "--interpret exited $?"; cat ref.err; }
    diff ref.out jit.out >out.diff || { bad "stdout differs from --interpret"; cat out.diff; }
    "$st_compare" ref.st jit.st 1e-4 >cmp.txt 2>&1 || { bad "tensors differ from --interpret"; cat cmp.txt; }
}
case $case in
sizes)
    # one compile for 10 calls at 7 sequence lengths and 3 batch sizes
    same fjit_sizes.lsp
    has jit.err "session: 1 regions compiled, 0 loaded from the disk cache, 9 memory hits"
    has jit.err "10 function calls \(10 compiled, 0 eager\)"
    count jit.err "call of 'encoder': 1 inputs" 10 ;;
regions)
    # --jit=regions: no function JIT; every size is compiled apart
    same fjit_sizes.lsp --jit=regions
    has jit.err "0 function calls"
    has jit.err "session: (1[0-9]|[2-9][0-9]) regions compiled" ;;
eager)
    # a branch on a tensor's value: one note, then eager; what the failed
    # trace did (counter, push, print) happened once per call
    same fjit_eager.lsp
    count jit.err "note: 'pick' runs eagerly, not compiled: tensor_sum: data-dependent value" 1
    has jit.err "fjit_eager.lsp:14:9: note: .*\(.*fjit_eager.lsp:13:10\)"
    has jit.out "^counter 2 seen \(1 2\)$"
    count jit.out "^pick call" 2
    # the second call is not traced: the function stays eager
    has jit.err "1 function calls \(0 compiled, 1 eager\)" ;;
print)
    # printing a tensor inside the call: eager, and printed as --interpret does
    same fjit_print.lsp
    count jit.err "note: 'show' runs eagerly, not compiled: println: printing a tensor computed inside the call" 1 ;;
store)
    # tensors the call stores in a global, a list argument and a field
    same fjit_store.lsp
    has jit.err "4 function calls \(4 compiled, 0 eager\)"
    has jit.err "session: 2 regions compiled, 0 loaded from the disk cache, 2 memory hits" ;;
inplace)
    same fjit_inplace.lsp
    has jit.err "1 function calls \(1 compiled, 0 eager\)" ;;
size_out)
    same fjit_sizes_out.lsp ;;
strict)
    # --strict: a function that runs eagerly is not an error (its regions are compiled)
    same fjit_eager.lsp --strict
    has jit.err "note: 'pick' runs eagerly" ;;
surface)
    # the script's jit_* builtins, under --jit=regions: (jit 'fwd) compiles
    # fwd's two calls, (jit 'other false) keeps other eager, jit_enable
    # false interprets, jit_compile writes fwd.so (run here by the host)
    "$ltc" run --jit=regions "$inputs/fjit_surface.lsp" >jit.out 2>jit.err </dev/null || { bad "run exited $?"; cat jit.err; }
    "$ltc" run --interpret "$inputs/fjit_surface.lsp" >interp.out 2>interp.err && bad "jit_compile under --interpret succeeded"
    # the values are the interpreter's (its run stops at jit_compile)
    grep '^sum\|^off' interp.out >ref.vals
    grep '^sum\|^off' jit.out >jit.vals
    diff ref.vals jit.vals || bad "values differ from --interpret"
    has jit.out "^calls 2 compiled 2$"
    has jit.out "^was on true now nil$"
    has jit.err "2 function calls \(2 compiled, 0 eager\)"
    [ -f fwd.so ] && [ -f fwd.safetensors ] || bad "jit_compile wrote no fwd.so and fwd.safetensors"
    if [ -n "$host" ]; then
        "$host" fwd.so 4 6 >host.txt 2>&1 || bad "the host cannot run fwd.so"
        has host.txt "S=6: output 'output0' \[2,6,8\]"
    fi
    # outside run: the builtins change nothing, jit_compile is an error at its line
    has interp.out "^calls 0 compiled 0$"
    has interp.err "fjit_surface.lsp:20:1: error: jit_compile: there is no JIT here" ;;
*) echo "fjit.sh: unknown case '$case'"; exit 2 ;;
esac
exit $fail
