#!/usr/bin/env bash
# check.sh: run one lispetorchc command line and check what it did.
#
#   check.sh WORKDIR [checks...] -- COMMAND [ARGS...]
#
# The command runs in WORKDIR (emptied first; relative paths land there).
# Checks:
#   --exit N          exit status must be N (default 0)
#   --stderr TEXT     stderr must contain TEXT (repeatable)
#   --stdout TEXT     stdout must contain TEXT (repeatable)
#   --no-stderr TEXT  stderr must not contain TEXT
#   --no-stdout TEXT  stdout must not contain TEXT
#   --create F TEXT   before the run, write TEXT to F
#   --symlink L T     before the run, make L a symbolic link to T
#   --mkdir D         before the run, make the directory D
#   --same F TEXT     after the run, F must hold exactly TEXT
#   --absent F        after the run, F must not exist
#   --contains F TEXT after the run, F must contain TEXT
#   --link L          after the run, L must still be a symbolic link
#   --nonempty F      after the run, F must exist and not be empty
#   --stdout-empty    nothing was written to stdout
# Always: no temporary file (*.tmp.*) is left in WORKDIR, no crash.
set -u
work=$1; shift
want_exit=0
want_empty=0
errs=() outs=() noerrs=() noouts=() creates=() sames=() absents=() nonempties=() links=() dirs=() contains=() islinks=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in
        --exit) want_exit=$2; shift 2 ;;
        --stderr) errs+=("$2"); shift 2 ;;
        --stdout) outs+=("$2"); shift 2 ;;
        --no-stderr) noerrs+=("$2"); shift 2 ;;
        --no-stdout) noouts+=("$2"); shift 2 ;;
        --create) creates+=("$2" "$3"); shift 3 ;;
        --symlink) links+=("$2" "$3"); shift 3 ;;
        --mkdir) dirs+=("$2"); shift 2 ;;
        --contains) contains+=("$2" "$3"); shift 3 ;;
        --link) islinks+=("$2"); shift 2 ;;
        --same) sames+=("$2" "$3"); shift 3 ;;
        --absent) absents+=("$2"); shift 2 ;;
        --nonempty) nonempties+=("$2"); shift 2 ;;
        --stdout-empty) want_empty=1; shift ;;
        *) echo "check.sh: unknown check '$1'" >&2; exit 2 ;;
    esac
done
[ "${1:-}" = "--" ] || { echo "check.sh: missing -- COMMAND" >&2; exit 2; }
shift

rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 2
for ((i = 0; i < ${#creates[@]}; i += 2)); do printf '%s' "${creates[i+1]}" > "${creates[i]}"; done
for ((i = 0; i < ${#links[@]}; i += 2)); do ln -s "${links[i+1]}" "${links[i]}"; done
for d in ${dirs[@]+"${dirs[@]}"}; do mkdir -p "$d"; done

"$@" > stdout.txt 2> stderr.txt < /dev/null
rc=$?
fail=0
bad() { echo "FAIL: $*"; fail=1; }

[ "$rc" -eq "$want_exit" ] || bad "exit status $rc, expected $want_exit"
[ "$rc" -lt 128 ] || bad "killed by signal $((rc - 128))"
for s in ${errs[@]+"${errs[@]}"}; do grep -qF -- "$s" stderr.txt || bad "stderr lacks: $s"; done
for s in ${outs[@]+"${outs[@]}"}; do grep -qF -- "$s" stdout.txt || bad "stdout lacks: $s"; done
for s in ${noerrs[@]+"${noerrs[@]}"}; do grep -qF -- "$s" stderr.txt && bad "stderr has: $s"; done
for s in ${noouts[@]+"${noouts[@]}"}; do grep -qF -- "$s" stdout.txt && bad "stdout has: $s"; done
for ((i = 0; i < ${#sames[@]}; i += 2)); do
    [ -f "${sames[i]}" ] && [ "$(cat "${sames[i]}")" = "${sames[i+1]}" ] || bad "${sames[i]} was changed"
done
for ((i = 0; i < ${#contains[@]}; i += 2)); do
    grep -qF -- "${contains[i+1]}" "${contains[i]}" 2>/dev/null || bad "${contains[i]} lacks: ${contains[i+1]}"
done
for f in ${islinks[@]+"${islinks[@]}"}; do [ -L "$f" ] || bad "$f is no longer a symbolic link"; done
for f in ${absents[@]+"${absents[@]}"}; do [ ! -e "$f" ] || bad "$f exists"; done
for f in ${nonempties[@]+"${nonempties[@]}"}; do [ -s "$f" ] || bad "$f missing or empty"; done
[ "$want_empty" -eq 0 ] || [ ! -s stdout.txt ] || bad "stdout is not empty"
if ls -a | grep -q '\.tmp\.'; then bad "temporary file left: $(ls -a | grep '\.tmp\.')"; fi

if [ "$fail" -ne 0 ]; then
    echo "--- command: $*"
    echo "--- stdout:"; head -c 4000 stdout.txt
    echo "--- stderr:"; head -c 4000 stderr.txt
    exit 1
fi
exit 0
