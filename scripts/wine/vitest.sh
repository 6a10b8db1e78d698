#!/usr/bin/env bash
# Runs the repo's vitest suite under Wine with Windows Node 22 or Windows Bun 1.4.5.
# Usage: bash scripts/wine/vitest.sh node|bun [vitest args...]
#   e.g. bash scripts/wine/vitest.sh node __test__/loader.test.mjs
# Needs scripts/wine/setup.sh and npm install done; adds the win32 rollup/esbuild packages
# to node_modules (win32-natives.sh). Output streams through scripts/wine/run.sh (files, not
# pipes); the exit code is vitest's. Afterwards no Wine process of the prefix may be left:
# the wineserver gets 15 s to wind down, then is killed and the run fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=env.sh
source scripts/wine/env.sh

runtime=${1:-}
shift || true
case $runtime in
  node) cmd=("$WIN_NODE" node_modules/vitest/vitest.mjs run "$@") ;;
  bun) cmd=("$WIN_BUN" --bun node_modules/vitest/vitest.mjs run "$@") ;;
  *) echo "usage: $0 node|bun [vitest args...]" >&2; exit 2 ;;
esac
[ -f "$WIN_NODE" ] && [ -f "$WIN_BUN" ] || { echo "run scripts/wine/setup.sh first" >&2; exit 1; }
bash scripts/wine/win32-natives.sh || exit 1

# The fixture runners run on Windows node.exe under both runtimes (helpers.mjs NODE): under
# Bun the tests would look `node` up in the Windows PATH, which has none. Z: is Wine's /.
test_node="Z:${WIN_NODE//\//\\}"

start=$SECONDS
EXPECT_RUNTIME=$runtime TEST_NODE=$test_node bash scripts/wine/run.sh -- "${cmd[@]}"
rc=$?
echo "wine vitest ($runtime): exit $rc after $((SECONDS - start))s"

if ! timeout 15 wineserver -w; then
  echo "wine vitest ($runtime): Wine processes outlived the run; wineserver -k" >&2
  wineserver -k || true
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
