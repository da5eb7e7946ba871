#!/usr/bin/env bash
# jit_cache.sh LTC ST_COMPARE INPUTS WORK CASE [HOST]: the disk cache of compiled
# regions and libraries (engine/disk_cache.c, driver/library_cache.c; HOST: the
# example host, for the library case), one case per CTest test.  Every case has
# its own empty cache directory (WORK/cache) and checks what LTC_LOG=jit
# says, what is left in the directory, and the values: the stdout of the
# runs compared with each other and the saved tensors with the
# interpreter's (st_compare, 1e-4).
set -u
ltc=$1 st_compare=$2 inputs=$3 work=$4 case=$5 host=${6:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 2
export LTC_CACHE=on LTC_CACHE_DIR=$work/cache LTC_LOG=jit
unset LTC_CACHE_MAX
ffn=$inputs/cache_ffn.lsp
fail=0
bad() { echo "FAIL ($case): $*"; fail=1; }
has() { grep -qF -- "$2" "$1" || { bad "$1 lacks: $2"; sed 's/^/    /' "$1"; }; }
hasnt() { ! grep -qF -- "$2" "$1" || { bad "$1 has: $2"; sed 's/^/    /' "$1"; }; }
# variant N: cache_ffn.lsp with 16 -> N in its second linear (another key)
variant() { sed "s/torch_linear 16 8/torch_linear 16 $1/" "$ffn" >"v$1.lsp"; echo "v$1.lsp"; }
entries() { ls "$LTC_CACHE_DIR" 2>/dev/null | grep -c '\.ltcj$'; }
# run NAME [args...]: stdout NAME.out, stderr NAME.err, tensors NAME.st
run() {
    local name=$1; shift
    "$ltc" run "$@" --save-tensors "$name.st" >"$name.out" 2>"$name.err" </dev/null
    local rc=$?
    [ $rc -eq 0 ] || { bad "run $name exited $rc"; sed 's/^/    /' "$name.err"; }
}
# the interpreter's tensors for script $1, compared with NAME.st
matches_interpreter() {
    local script=$1 name=$2
    [ -f ref.st ] || LTC_CACHE=off "$ltc" run --interpret "$script" --save-tensors ref.st >/dev/null 2>&1 ||
        bad "the interpreter failed on $script"
    "$st_compare" ref.st "$name.st" 1e-4 >"$name.cmp" 2>&1 || { bad "$name differs from the interpreter"; cat "$name.cmp"; }
}

case $case in
miss_then_hit)
    # two processes: the first compiles and stores, the second loads
    run first "$ffn"
    has first.err "(no entry): compiled 8 nodes into 4 kernels"
    has first.err ", stored"
    [ "$(entries)" = 1 ] || bad "expected 1 entry after the first run, found $(entries)"
    run second "$ffn"
    has second.err "disk hit"
    hasnt second.err "miss"
    has second.err "session: 0 regions compiled, 1 loaded from the disk cache"
    cmp -s first.out second.out || bad "the second run printed other values"
    matches_interpreter "$ffn" second
    ;;
changed_option)
    # another target CPU, another key; then a changed source
    run first "$ffn"
    run v3 "$ffn" --cpu x86-64-v3
    has v3.err "(no entry): compiled"
    hasnt v3.err "disk hit"
    [ "$(entries)" = 2 ] || bad "expected 2 entries (native, x86-64-v3), found $(entries)"
    run changed "$(variant 4)"
    has changed.err "(no entry): compiled"
    [ "$(entries)" = 3 ] || bad "expected 3 entries, found $(entries)"
    matches_interpreter v4.lsp changed
    # and the first one is still a hit
    run again "$ffn"
    has again.err "disk hit"
    # a rebuilt compiler (other bytes, the same version string) misses
    cp "$ltc" ltc_rebuilt && printf 'x' >>ltc_rebuilt
    ltc=./ltc_rebuilt run rebuilt "$ffn"
    has rebuilt.err "(no entry): compiled"
    cmp -s first.out rebuilt.out || bad "the rebuilt compiler printed other values"
    ;;
corrupt)
    run first "$ffn"
    f=$(ls "$LTC_CACHE_DIR"/*.ltcj)
    size=$(stat -c %s "$f")
    # a flipped byte in the object code
    printf '\xff' | dd of="$f" bs=1 seek=$((size - 200)) conv=notrunc status=none
    run flipped "$ffn"
    has flipped.err "(corrupt: checksum mismatch; removed): compiled"
    cmp -s first.out flipped.out || bad "the rebuilt entry printed other values"
    matches_interpreter "$ffn" flipped
    # rebuilt: a hit again
    run after_flip "$ffn"
    has after_flip.err "disk hit"
    # truncated
    truncate -s $((size / 2)) "$f"
    run truncated "$ffn"
    has truncated.err "(corrupt: truncated or bad lengths"
    cmp -s first.out truncated.out || bad "the rebuilt entry printed other values"
    truncate -s 10 "$f"
    run short "$ffn"
    has short.err "(corrupt: truncated (10 bytes); removed)"
    # another file's bytes under this name: a full key compare refuses it
    run other_src "$(variant 4)"
    g=$(ls -t "$LTC_CACHE_DIR"/*.ltcj | head -1)
    [ "$g" != "$f" ] || bad "two sources have one entry"
    cp "$g" "$f"
    run swapped "$ffn"
    has swapped.err "(key differs: another key of the same hash; removed): compiled"
    cmp -s first.out swapped.out || bad "the rebuilt entry printed other values"
    run after_swap "$ffn"
    has after_swap.err "disk hit"
    ;;
concurrent)
    # two processes at once on an empty cache
    "$ltc" run "$ffn" >a.out 2>a.err & pa=$!
    "$ltc" run "$ffn" >b.out 2>b.err & pb=$!
    wait $pa || bad "process a failed: $(cat a.err)"
    wait $pb || bad "process b failed: $(cat b.err)"
    cmp -s a.out b.out || bad "the two processes printed other values"
    [ "$(entries)" = 1 ] || bad "expected 1 entry, found $(entries)"
    [ -z "$(ls "$LTC_CACHE_DIR" | grep -v '\.ltcj$')" ] || bad "left in the cache: $(ls "$LTC_CACHE_DIR")"
    run third "$ffn"
    has third.err "disk hit"
    cmp -s a.out third.out || bad "the hit printed other values"
    matches_interpreter "$ffn" third
    ;;
disabled)
    LTC_CACHE=off run off "$ffn"
    has off.err "(disabled: LTC_CACHE=off): compiled"
    run nocache "$ffn" --no-cache
    has nocache.err "(disabled: --no-cache): compiled"
    [ ! -e "$LTC_CACHE_DIR" ] || bad "a disabled cache created $LTC_CACHE_DIR"
    # -v shows the same lines without LTC_LOG
    LTC_LOG= run verbose "$ffn" -v
    has verbose.err "lispetorchc: jit: $ffn:8:9: miss"
    LTC_LOG= run quiet "$ffn"
    [ ! -s quiet.err ] || { bad "a hit without LTC_LOG wrote to stderr"; cat quiet.err; }
    cmp -s off.out quiet.out || bad "the runs printed other values"
    # a cache that cannot be written: one warning, and the run goes on
    LTC_CACHE_DIR=$ffn/sub run unwritable "$ffn"
    [ "$(grep -c 'warning: the disk cache is off for this run' unwritable.err)" = 1 ] ||
        { bad "expected one warning"; cat unwritable.err; }
    has unwritable.err "cannot create the cache directory '$ffn/sub': Not a directory"
    has unwritable.err "(unreadable: cannot open '$ffn/sub/"
    has unwritable.err ", not stored"
    cmp -s off.out unwritable.out || bad "the run without a cache printed other values"
    ;;
fallback_log)
    # every fallback, with its place (the note: once)
    run fb "$inputs/fallback_counts.lsp"
    [ "$(grep -c "jit: $inputs/fallback_counts.lsp:15:35: fallback: 'cumsum' runs in the interpreter" fb.err)" = 2 ] ||
        { bad "expected 2 fallback lines"; cat fb.err; }
    [ "$(grep -c 'note: running' fb.err)" = 1 ] || bad "expected 1 note"
    has fb.err "interpreted by choice"
    has fb.err "memory hit"
    ;;
command)
    # cache show / prune / clear
    "$ltc" cache >empty.txt 2>&1 || bad "cache on a missing directory failed"
    has empty.txt "entries: 0"
    run a "$ffn"
    run b "$(variant 4)"
    echo "not ours" >"$LTC_CACHE_DIR/notes.txt"
    echo "not ours either" >"$LTC_CACHE_DIR/foreign.ltcj"
    touch "$LTC_CACHE_DIR/0123.ltcj.tmp.4242"
    "$ltc" cache show >show.txt 2>&1 || bad "cache show failed"
    has show.txt "directory: $LTC_CACHE_DIR"
    has show.txt "entries: 2"
    has show.txt "bound: 536870912 bytes"
    LTC_CACHE_MAX=1000 "$ltc" cache >bound.txt 2>&1
    has bound.txt "bound: 1000 bytes"
    # prune to the size of the newest: the oldest goes
    old=$(ls -tr "$LTC_CACHE_DIR"/*.ltcj | head -1)
    touch -d '1 hour ago' "$old"
    newest=$(ls -t "$LTC_CACHE_DIR"/*.ltcj | grep -v foreign | head -1)
    keep=$(stat -c %s "$newest")
    "$ltc" cache prune --max "$keep" >prune.txt 2>&1 || bad "cache prune failed"
    has prune.txt "removed 1 entries"
    [ -e "$newest" ] || bad "prune removed the newest entry"
    [ ! -e "$old" ] || bad "prune kept the oldest entry"
    "$ltc" cache clear >clear.txt 2>&1 || bad "cache clear failed"
    has clear.txt "removed 2 files"
    has clear.txt "entries: 0"
    [ -e "$LTC_CACHE_DIR/notes.txt" ] || bad "cache clear removed a file that is not ours"
    [ -e "$LTC_CACHE_DIR/foreign.ltcj" ] || bad "cache clear removed a .ltcj file without our magic"
    [ ! -e "$LTC_CACHE_DIR/0123.ltcj.tmp.4242" ] || bad "cache clear kept a temporary"
    # usage errors: 2; an unreadable directory: 1, naming it
    "$ltc" cache prnue >u.txt 2>&1; [ $? = 2 ] || bad "a bad action did not exit 2"
    has u.txt "did you mean 'prune'?"
    "$ltc" cache prune --max x >u2.txt 2>&1; [ $? = 2 ] || bad "a bad --max did not exit 2"
    LTC_CACHE_DIR=$inputs/cache_ffn.lsp "$ltc" cache clear >e.txt 2>&1; [ $? = 1 ] || bad "a file as directory did not exit 1"
    has e.txt "cannot read the cache directory '$inputs/cache_ffn.lsp': Not a directory"
    ;;
library)
    # -o model.so through the cache: a second compile is a hit and writes
    # the same bytes; the library runs; another option misses; a corrupt
    # entry is rebuilt; --embed-weights is not cached
    so() { local name=$1; shift; "$ltc" "$@" >"$name.out" 2>"$name.err" </dev/null || { bad "compile $name exited $?"; sed 's/^/    /' "$name.err"; }; }
    so c1 "$ffn" -o m1.so
    has c1.err "model.so: disk cache miss (no entry)"
    has c1.err "model.so: stored in the disk cache"
    so c2 "$ffn" -o m2.so
    has c2.err "model.so: disk cache hit"
    hasnt c2.err "generating kernels"
    cmp -s m1.so m2.so || bad "the cached library differs from the compiled one"
    [ -x m2.so ] || bad "the cached library is not executable"
    [ -s m2.safetensors ] || bad "a hit did not write the weights beside the library"
    "$host" m2.so 5 >host.txt 2>&1 || { bad "the cached library does not run"; cat host.txt; }
    so c3 "$ffn" -O1 -o m3.so
    has c3.err "model.so: disk cache miss (no entry)"
    for f in "$LTC_CACHE_DIR"/*.ltcj; do truncate -s 100 "$f"; done
    so c4 "$ffn" -o m4.so
    has c4.err "model.so: disk cache miss (a corrupt entry"
    cmp -s m1.so m4.so || bad "the rebuilt library differs"
    so c5 "$ffn" -o m5.so
    has c5.err "model.so: disk cache hit"
    so c6 "$ffn" --embed-weights -o m6.so
    has c6.err "model.so: disk cache not used (--embed-weights)"
    LTC_CACHE=off so c7 "$ffn" -o m7.so
    has c7.err "model.so: disk cache not used (LTC_CACHE=off)"
    ;;
bound)
    # a write evicts the least recently used entries down to LTC_CACHE_MAX
    run a "$ffn"
    a=$(ls "$LTC_CACHE_DIR"/*.ltcj)
    touch -d '2 hours ago' "$a"
    run b "$(variant 4)"
    b=$(ls -t "$LTC_CACHE_DIR"/*.ltcj | head -1)
    touch -d '1 hour ago' "$b"
    # a hit makes a the newest
    run a_hit "$ffn"
    has a_hit.err "disk hit"
    # room for two entries of this size (the variants' are the same)
    LTC_CACHE_MAX=$((2 * $(stat -c %s "$a") + 1000)) run c "$(variant 6)"
    [ -e "$a" ] || bad "the recently hit entry was evicted"
    [ ! -e "$b" ] || bad "the least recently used entry was kept"
    [ "$(entries)" = 2 ] || bad "expected 2 entries, found $(entries)"
    matches_interpreter v6.lsp c
    ;;
*) echo "jit_cache.sh: unknown case '$case'" >&2; exit 2 ;;
esac
[ $fail = 0 ] && echo "ok ($case)"
exit $fail
