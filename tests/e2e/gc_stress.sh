#!/usr/bin/env bash
# gc_stress.sh: the collector changes no result.  Each script runs with
# `run --interpret` twice, plainly and with LTC_GC_STRESS=1 (a collection
# at every safe point), from its own folder; exit status and stdout must
# be the same, less lines with timings (numbers followed by "ms").
#
#   gc_stress.sh LISPETORCHC SCRIPT...
set -u
ltc=$1; shift
fail=0
for f in "$@"; do
    dir=$(dirname "$f")
    run() {
        (cd "$dir" && env LTC_GC_STRESS=$1 "$ltc" run --interpret --max-steps 5000000 "$f" 2>/dev/null)
        echo "exit $?"
    }
    plain=$(run 0 | grep -Ev '[0-9] ms')
    stress=$(run 1 | grep -Ev '[0-9] ms')
    if [ "$plain" != "$stress" ]; then
        echo "FAIL: $f differs under LTC_GC_STRESS=1:"
        diff <(echo "$plain") <(echo "$stress") | head -20
        fail=1
    else
        echo "same: $f ($(echo "$plain" | wc -l) lines)"
    fi
done
exit $fail
