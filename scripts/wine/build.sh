#!/usr/bin/env bash
# Builds the Windows x64 addon (x86_64-pc-windows-gnu, linked by mingw-w64) into the repo
# root as sidecar-native.win32-x64-gnu.node: the development build loader.js picks on
# Windows, which the suite under Wine loads. Needs scripts/wine/setup.sh (mingw-w64 and
# napi-build's empty libnode.dll) and npm install. Usage: bash scripts/wine/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=env.sh
source scripts/wine/env.sh
rustup target add x86_64-pc-windows-gnu
# The types are the same as the Linux build's (binding.d.ts, committed): written aside.
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
  node_modules/.bin/napi build --platform --release --no-js \
  --dts target/win32-binding.d.ts --target x86_64-pc-windows-gnu
ls -l sidecar-native.win32-x64-gnu.node
