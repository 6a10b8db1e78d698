#!/usr/bin/env bash
# Makes the repo's node_modules (installed by Linux npm) usable by Windows node.exe/bun.exe
# under Wine: vitest's native dependencies exist there only as their linux-x64 packages, so
# this adds @rollup/rollup-win32-x64-msvc and @esbuild/win32-x64 at the versions of the
# installed rollup and esbuild (npm install into .ci-wine/win32-natives, then a copy into
# node_modules; npm needs --force for packages of another os). Idempotent; run after
# `npm install`. Usage: bash scripts/wine/win32-natives.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=env.sh
source scripts/wine/env.sh

version() { node -p "require('./node_modules/$1/package.json').version"; }
[ -f node_modules/rollup/package.json ] && [ -f node_modules/esbuild/package.json ] \
  || { echo "win32-natives: node_modules has no rollup/esbuild: run npm install first" >&2; exit 1; }
specs=("@rollup/rollup-win32-x64-msvc@$(version rollup)" "@esbuild/win32-x64@$(version esbuild)")

todo=()
for spec in "${specs[@]}"; do
  name=${spec%@*}
  [ "$(node -p "try { require('./node_modules/$name/package.json').version } catch { '' }")" = "${spec##*@}" ] || todo+=("$spec")
done
if [ ${#todo[@]} -eq 0 ]; then
  echo "win32-natives: present: ${specs[*]}"
  exit 0
fi
echo "win32-natives: npm install ${todo[*]}"
dir=$CI_WINE_DIR/win32-natives
npm install --no-save --no-package-lock --no-audit --no-fund --force --loglevel=error --prefix "$dir" "${todo[@]}"
for spec in "${todo[@]}"; do
  name=${spec%@*}
  mkdir -p "node_modules/$(dirname "$name")"
  rm -rf "node_modules/$name"
  cp -a "$dir/node_modules/$name" "node_modules/$name"
  echo "win32-natives: node_modules/$name $(version "$name")"
done
