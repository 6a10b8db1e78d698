#!/usr/bin/env bash
# Runs a Windows program under Wine the way a Linux-side script can rely on:
#   - its stdout/stderr go to files, never to a pipe (Windows node.exe under Wine throws
#     EBADF writing to a Unix pipe), and are copied to this script's stdout/stderr as they
#     grow (tail --pid), so output still streams;
#   - stdin is /dev/null;
#   - this script exits with the program's exit code. Wine passes on its low 8 bits
#     (exit(42) -> 42, exit(300) -> 44); a program Wine cannot start gives 53.
#
# Usage: scripts/wine/run.sh [--out FILE] [--err FILE] [--] PROGRAM [ARGS...]
#   --out/--err keep the output in FILE (otherwise a temporary file, removed afterwards).
# Example: scripts/wine/run.sh "$WIN_NODE" -e 'console.log(process.platform)'
# The environment comes from env.sh (sourced here); the caller's variables pass through
# to the Windows program. On SIGINT/SIGTERM the wine process is killed by its pid.
set -uo pipefail
# shellcheck source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

out= err=
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --err) err=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--out FILE] [--err FILE] [--] PROGRAM [ARGS...]" >&2; exit 2; }

tmp=$(mktemp -d)
out=${out:-$tmp/stdout}
err=${err:-$tmp/stderr}
: >"$out"
: >"$err"

pid=
on_signal() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$tmp"
  exit 130
}
trap on_signal INT TERM

wine "$@" >"$out" 2>"$err" </dev/null &
pid=$!
tail -n +1 -s 0.2 -f --pid="$pid" "$out" &
tail_out=$!
tail -n +1 -s 0.2 -f --pid="$pid" "$err" >&2 &
tail_err=$!
wait "$pid"
rc=$?
wait "$tail_out" "$tail_err"
rm -rf "$tmp"
exit "$rc"
