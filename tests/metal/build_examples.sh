#!/usr/bin/env bash
# build_examples.sh LISPETORCHC SCRIPT...: every script as a metal model.so
# in f32, bf16 and f16 (source only: LTC_XCRUN=none, as on a host without
# Xcode), in the current directory.  Prints "built=N failed=M." and the
# failures' messages; exit 0 when none failed.
set -u
ltc=$1; shift
built=0 failed=0
for ex in "$@"; do
    for dt in f32 bf16 f16; do
        if LTC_XCRUN=none "$ltc" "$ex" --target metal --dtype "$dt" -o m.so 2>err.txt && [ -s m.so ]; then
            built=$((built + 1))
        else
            failed=$((failed + 1))
            echo "FAILED: $ex --dtype $dt"; cat err.txt
        fi
        rm -f m.so m.safetensors
    done
done
echo "built=$built failed=$failed."
[ "$failed" -eq 0 ]
