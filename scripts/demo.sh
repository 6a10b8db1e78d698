#!/usr/bin/env bash
# Installs, builds the addon and runs the demo (real sessions on the bundled example runner).
# Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# npm install --no-save rather than npm ci: see scripts/test.sh.
npm install --no-save --no-audit --no-fund
npm run build
npm run demo
