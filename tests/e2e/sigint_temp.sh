#!/usr/bin/env bash
# sigint_temp.sh LTC SCRIPT: interrupt a compile while a temporary exists.
# -o names a FIFO that nobody reads, so the compile blocks at commit while
# writing it from its staged copy in $TMPDIR; SIGINT there must remove that
# copy (support/tempfiles.c's handler).  Prints "tmp is empty" when it did;
# exits with timeout's status (124).
ltc=$1 script=$2
rm -rf p tmp && mkfifo p && mkdir tmp || exit 99
TMPDIR=$PWD/tmp timeout -s INT 3 "$ltc" "$script" --emit ir -o p
rc=$?
left=$(ls -A tmp)
if [ -n "$left" ]; then echo "left in tmp: $left"; else echo "tmp is empty"; fi
rm -rf p tmp
exit $rc
