#!/usr/bin/env bash
# exports.sh: the runtime that hosts link exports only its API.
#
#   exports.sh libltc_runtime.so libltc_runtime.a
#
# Fails on any symbol that the shared library exports (nm -D --defined-only)
# or that the archive defines as global (nm -g --defined-only) whose name
# does not start with ltc_; the version node (LTC_0.2, an absolute symbol)
# is allowed.  Also checks the SONAME and that there are exports at all.
set -u
so=$1 ar=$2
status=0
fail() { echo "exports: FAIL: $*" >&2; status=1; }

for f in "$so" "$ar"; do [ -f "$f" ] || { echo "exports: FAIL: no such file: $f" >&2; exit 1; }; done

dyn=$(nm -D --defined-only "$so") || { echo "exports: FAIL: nm -D failed on $so" >&2; exit 1; }
bad=$(awk 'NF >= 3 && $3 !~ /^ltc_/ && !($2 == "A" && $3 ~ /^LTC_[0-9.]+$/) {print $3}' <<<"$dyn")
[ -z "$bad" ] || fail "$so exports symbols outside ltc_*: $(tr '\n' ' ' <<<"$bad")"
n=$(grep -c ' ltc_' <<<"$dyn")
[ "$n" -gt 0 ] || fail "$so exports no ltc_* symbol"
grep -q ' ltc_model_open@@LTC_0.2$' <<<"$dyn" || fail "$so: ltc_model_open is not in the version node LTC_0.2"
readelf -d "$so" | grep -q 'Library soname: \[libltc_runtime.so.0\]' || fail "$so: SONAME is not libltc_runtime.so.0"

glob=$(nm -g --defined-only "$ar") || { echo "exports: FAIL: nm -g failed on $ar" >&2; exit 1; }
bad=$(awk 'NF >= 3 && $3 !~ /^ltc_/ {print $3}' <<<"$glob")
[ -z "$bad" ] || fail "$ar defines globals outside ltc_*: $(tr '\n' ' ' <<<"$bad")"
m=$(grep -c ' ltc_' <<<"$glob")
[ "$m" -gt 0 ] || fail "$ar defines no ltc_* symbol"

[ $status -eq 0 ] && echo "exports: ok ($n symbols exported by the shared library, $m global in the archive)"
exit $status
