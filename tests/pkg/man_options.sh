#!/usr/bin/env bash
# man_options.sh: the manual page renders cleanly and names every option.
#
#   man_options.sh lispetorchc docs/lispetorchc.1
#
# 1. groff (when installed; else that step is skipped, said on stdout)
#    renders the page with every warning on (-ww) and without a message;
# 2. every option that `lispetorchc --help` lists (a word starting with -
#    at the start of a help line, or after a comma there) appears in the
#    page, written as roff writes it (\- for each hyphen).
set -u
ltc=$1 page=$2
status=0
[ -f "$page" ] || { echo "man_options: FAIL: no page $page" >&2; exit 1; }
if command -v groff >/dev/null 2>&1; then
    msgs=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
    if [ -n "$msgs" ]; then echo "man_options: FAIL: groff warns: $msgs" >&2; status=1; fi
else
    echo "man_options: groff not installed: rendering not checked"
fi
help=$("$ltc" --help) || { echo "man_options: FAIL: $ltc --help failed" >&2; exit 1; }
# option words at the start of the help's option lines: "  -o FILE", "  -v, --verbose"
# (the option column ends at two spaces; "-O0 .. -O3" names its ends)
opts=$(grep -E '^  -' <<<"$help" | sed -E 's/^  //; s/  .*//' | grep -oE '(^|[ ,])-[-A-Za-z0-9]+' |
       sed -E 's/^[ ,]//' | sort -u)
n=0
for o in $opts; do
    roff=${o//-/\\-}
    if ! grep -qF -- "$roff" "$page"; then echo "man_options: FAIL: $o (from --help) is not in $page" >&2; status=1; fi
    n=$((n + 1))
done
[ "$n" -gt 20 ] || { echo "man_options: FAIL: only $n options found in --help" >&2; status=1; }
[ $status -eq 0 ] && echo "man_options: ok ($n options)"
exit $status
