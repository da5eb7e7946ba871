#!/usr/bin/env bash
# check-install.sh: install lispetorchc into a fresh prefix and use it as
# another project would (docs/packaging.md).
#
#   scripts/check-install.sh [--no-build] [BUILD_DIR]      (default: build/)
#
# --no-build: BUILD_DIR is built already (ctest's pkg_check_install).
#
# 1. builds what is installed (the compiler, both runtimes) in BUILD_DIR
#    and runs `cmake --install BUILD_DIR --prefix` a new temporary prefix;
# 2. checks the installed files, and that the shared runtime exports and
#    the static one defines as global only ltc_* (tests/pkg/exports.sh);
# 3. builds a C program against the static archive, and one with the flags
#    of the pkg-config file, and runs them; then a host of the embedding
#    API (libltc_embed.so: only ltc_* exported) that compiles a script
#    from text and checks its output;
# 4. configures examples/cmake-consumer (copied) with find_package against
#    the prefix, builds it (the installed compiler compiles its model) and
#    runs it: it checks the model's outputs against their formula;
# 5. checks the depfile: a second build does nothing, and touching the
#    file model.lsp loads rebuilds the model (with Ninja, and with Unix
#    Makefiles when make is installed).
# Prints "check-install: ok" and exits 0, or exits 1 at the first failure.
# The prefix and the consumer's build are removed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NO_BUILD=0
if [ "${1:-}" = --no-build ]; then NO_BUILD=1; shift; fi
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
JOBS=${LTC_JOBS:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ltc-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix
# no test reads or writes the user's disk cache of compiled code
export LTC_CACHE=off
fail() { echo "check-install: FAIL: $*" >&2; exit 1; }
step() { echo "check-install: $*"; }

if [ $NO_BUILD = 0 ]; then
    step "building the installed targets in $BUILD"
    cmake --build "$BUILD" -j "$JOBS" --target lispetorchc ltc_runtime_shared ltc_runtime_archive ltc_embed_shared >/dev/null ||
        fail "the build failed"
fi
step "installing into $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null || fail "cmake --install failed"

LIB=$PREFIX/lib
out=""
for f in bin/lispetorchc lib/libltc_runtime.so lib/libltc_runtime.so.0 lib/libltc_runtime.a \
         include/lispetorchc/runtime.h include/dlpack/dlpack.h \
         lib/cmake/lispetorchc/lispetorchcConfig.cmake lib/cmake/lispetorchc/lispetorchcConfigVersion.cmake \
         lib/cmake/lispetorchc/lispetorchcTargets.cmake lib/cmake/lispetorchc/lispetorchcModelRules.cmake \
         lib/pkgconfig/lispetorchc.pc share/man/man1/lispetorchc.1; do
    [ -e "$PREFIX/$f" ] || fail "not installed: $f"
done
# (outputs are read whole before grep -q: with pipefail, a writer that
# grep -q leaves behind dies of SIGPIPE and fails the pipeline)
out=$("$PREFIX/bin/lispetorchc" --version) || fail "the installed compiler does not run"
grep -q "^lispetorchc 0\.2\.0$" <<<"$out" || fail "the installed compiler is not 0.2.0"
bash "$ROOT/tests/pkg/exports.sh" "$LIB/libltc_runtime.so" "$LIB/libltc_runtime.a" || fail "exports"

step "linking a host with the static archive and with pkg-config"
cat > "$WORK/version.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "lispetorchc/runtime.h"
int main(void) {
    ltc_error err;
    /* a file that is not a model: a clear error, not a crash */
    if (ltc_model_open("/dev/null", &err) != NULL || err.code == LTC_OK) return 2;
    printf("%s\n", ltc_runtime_version());
    return strcmp(ltc_runtime_version(), "0.2.0") != 0;
}
C
CC=${CC:-cc}
"$CC" -I"$PREFIX/include" "$WORK/version.c" "$LIB/libltc_runtime.a" -ldl -lpthread -lm -o "$WORK/v_static" ||
    fail "cannot link with libltc_runtime.a"
out=$("$WORK/v_static") || fail "the statically linked host failed"
[ "$out" = 0.2.0 ] || fail "the statically linked host printed '$out'"
if command -v pkg-config >/dev/null; then
    flags=$(PKG_CONFIG_PATH=$LIB/pkgconfig pkg-config --cflags --libs lispetorchc) || fail "pkg-config lispetorchc"
    # shellcheck disable=SC2086
    "$CC" "$WORK/version.c" $flags -Wl,-rpath,"$LIB" -o "$WORK/v_shared" || fail "cannot link with pkg-config's flags ($flags)"
    out=$("$WORK/v_shared") || fail "the host linked with pkg-config's flags failed"
    [ "$out" = 0.2.0 ] || fail "the host linked with pkg-config's flags printed '$out'"
    out=$(ldd "$WORK/v_shared") || fail "ldd failed on the pkg-config host"
    grep -qF "libltc_runtime.so.0 => $LIB/libltc_runtime.so.0" <<<"$out" ||
        fail "the pkg-config host does not use the installed libltc_runtime.so.0"
else
    step "pkg-config not installed: its file not checked"
fi

step "the embedding API: a host compiling a script with the installed libltc_embed.so"
for f in lib/libltc_embed.so lib/libltc_embed.so.0 include/lispetorchc/embed.h; do
    [ -e "$PREFIX/$f" ] || fail "not installed: $f"
done
dyn=$(nm -D --defined-only "$LIB/libltc_embed.so") || fail "nm -D failed on libltc_embed.so"
bad=$(awk 'NF >= 3 && $3 !~ /^ltc_/ && !($2 == "A" && $3 ~ /^LTC_[0-9.]+$/) {print $3}' <<<"$dyn" | head -5)
[ -z "$bad" ] || fail "libltc_embed.so exports symbols outside ltc_*: $(tr '\n' ' ' <<<"$bad")"
cat > "$WORK/embed.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "lispetorchc/runtime.h"
#include "lispetorchc/embed.h"
/* y = x + x on [2, 3], computed by a module compiled from text */
int main(void) {
    const char *src = "(use 'lispe_torch)\n(defun twice (x) (tensor_add x x))\n"
                      "(setq y (twice (tensor_ones (integers 2 3))))\n";
    ltc_diags *diags = NULL;
    ltc_module *m = ltc_module_compile_source(src, strlen(src), "twice.lsp", NULL, &diags);
    for (size_t i = 0; i < ltc_diags_count(diags); i++)
        fprintf(stderr, "%s\n", ltc_diags_get(diags, i)->message);
    ltc_diags_free(diags);
    if (!m) return 2;
    float xs[6] = {1, 2, 3, 4, 5, 6}, ys[6] = {0};
    int64_t shape[2] = {2, 3};
    DLTensor x = {.data = xs, .device = {kDLCPU, 0}, .ndim = 2, .dtype = {kDLFloat, 32, 1}, .shape = shape};
    DLTensor y = x;
    y.data = ys;
    if (ltc_module_run(m, "twice", &x, 1, &y, 1) != 0) {
        fprintf(stderr, "%s\n", ltc_module_last_error(m));
        return 3;
    }
    for (int i = 0; i < 6; i++) if (ys[i] != 2 * xs[i]) return 4;
    ltc_module_free(m);
    printf("embed ok\n");
    return 0;
}
C
"$CC" -I"$PREFIX/include" "$WORK/embed.c" -L"$LIB" -lltc_embed -Wl,-rpath,"$LIB" -o "$WORK/embed" ||
    fail "cannot link a host with libltc_embed.so"
out=$(LTC_CACHE=off "$WORK/embed") || fail "the embedding host failed ($out)"
[ "$out" = "embed ok" ] || fail "the embedding host printed '$out'"

# consumer GENERATOR DIR: configure, build, run, and check the depfile
consumer() {
    local gen=$1 dir=$2 out
    rm -rf "$WORK/src"
    cp -r "$ROOT/examples/cmake-consumer" "$WORK/src"
    step "examples/cmake-consumer with $gen"
    cmake -S "$WORK/src" -B "$dir" -G "$gen" -DCMAKE_PREFIX_PATH="$PREFIX" >"$WORK/configure.log" 2>&1 ||
        { cat "$WORK/configure.log" >&2; fail "the consumer does not configure ($gen)"; }
    cmake --build "$dir" -j "$JOBS" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; fail "the consumer does not build ($gen)"; }
    grep -q "compiling model.lsp" "$WORK/build.log" || fail "the first build did not compile the model ($gen)"
    "$dir/consumer" || fail "the consumer's checks failed ($gen)"
    # nothing changed: the model is not compiled again
    out=$(cmake --build "$dir" 2>&1) || fail "the second build failed ($gen)"
    if grep -q "compiling model.lsp" <<<"$out"; then fail "a build with nothing changed compiled the model again ($gen)"; fi
    # a file the script loads changed: the depfile names it
    sleep 1
    touch "$WORK/src/layers.lsp"
    out=$(cmake --build "$dir" 2>&1) || fail "the build after touching layers.lsp failed ($gen)"
    grep -q "compiling model.lsp" <<<"$out" || fail "touching layers.lsp (loaded by model.lsp) did not rebuild the model ($gen)"
    "$dir/consumer" >/dev/null || fail "the consumer's checks failed after the rebuild ($gen)"
}
consumer Ninja "$WORK/consumer-ninja"
if command -v make >/dev/null; then consumer "Unix Makefiles" "$WORK/consumer-make"; fi

echo "check-install: ok"
