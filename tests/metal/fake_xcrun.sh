#!/usr/bin/env bash
# fake_xcrun.sh: stands in for Apple's xcrun on Linux (LTC_XCRUN=this), so
# that the tests run codegen/metal/metallib.c's spawns, their checks and
# the metallib section of the code image where no Apple tools exist.
#   FAKE_XCRUN=ok (default)  --find metal succeeds; metal "compiles" (the
#                            .air is the source, after checking the
#                            options); metallib writes "MTLB" + the .air
#   FAKE_XCRUN=nometal       --find metal fails (xcrun without the Metal
#                            toolchain): no metallib, not an error
#   FAKE_XCRUN=fail          metal fails with a message on stderr
set -u
mode=${FAKE_XCRUN:-ok}
[ "${1:-}" = "-sdk" ] && [ "${2:-}" = "macosx" ] || { echo "fake xcrun: expected -sdk macosx" >&2; exit 64; }
shift 2
case ${1:-} in
  --find)
    [ "$mode" = nometal ] && { echo "xcrun: error: unable to find utility \"metal\"" >&2; exit 72; }
    echo /fake/metal; exit 0 ;;
  metal)
    shift
    [ "$mode" = fail ] && { echo "fake.metal:1:1: error: planted failure" >&2; exit 1; }
    in= out= nofast=0 std=0
    while [ $# -gt 0 ]; do
      case $1 in
        -fno-fast-math) nofast=1 ;;
        -std=metal3.0) std=1 ;;
        -c) in=$2; shift ;;
        -o) out=$2; shift ;;
      esac
      shift
    done
    [ $nofast = 1 ] && [ $std = 1 ] || { echo "fake xcrun: metal without -fno-fast-math -std=metal3.0" >&2; exit 2; }
    grep -q 'kernel void' "$in" || { echo "fake xcrun: no kernel in $in" >&2; exit 3; }
    cp "$in" "$out" ;;
  metallib)
    [ "${3:-}" = "-o" ] || { echo "fake xcrun: metallib IN -o OUT" >&2; exit 2; }
    { printf 'MTLB'; cat "$2"; } > "$4" ;;
  *) echo "fake xcrun: unknown tool '${1:-}'" >&2; exit 64 ;;
esac
