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
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo test"
cargo test

step "cargo clippy for macOS (aarch64 and x86_64): the macOS code paths compile, warning-free"
rustup target add aarch64-apple-darwin x86_64-apple-darwin
cargo clippy --target aarch64-apple-darwin --all-targets -- -D warnings
cargo clippy --target x86_64-apple-darwin --all-targets -- -D warnings

step "type-check a usage file against index.d.ts"
npx tsc -p tsconfig.json

step "vitest on Node"
EXPECT_RUNTIME=node npx vitest run

step "vitest on Bun (same suite)"
EXPECT_RUNTIME=bun node_modules/.bin/bun --bun vitest run

step "package check: tarballs for every target (Linux and macOS), installed and run in fresh apps"
bash scripts/package-check.sh

printf '\nAll checks and tests passed.\n'
