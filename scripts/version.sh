#!/bin/sh
# The `version` script: `npm version <v>` runs it after writing the new version into
# package.json and before its own commit. `napi version` brings every npm/*/package.json to that
# version; they are staged because npm's commit takes only package.json and the lock file.
set -e
napi version
if git rev-parse --git-dir >/dev/null 2>&1; then git add npm; fi
