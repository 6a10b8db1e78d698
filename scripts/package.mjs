#!/usr/bin/env node
// `npm run package [-- [--target <triple>]... [--clean]]`: builds the addon for each target
// (default: this machine's) and writes installable tarballs into dist/:
//   agor-sidecar-native-<version>.tgz            the main package (JS, types), whose
//                                                optionalDependencies name every platform
//                                                package in dist/ at exactly its version
//   agor-sidecar-native-<platform>-<version>.tgz one per platform built, holding its .node
// Nothing is published. Packing uses the napi-rs CLI's own steps in a staging copy, so the
// repository's package.json and npm/ stay as committed: `napi create-npm-dirs`, `napi
// artifacts`, `napi pre-publish --skip-optional-publish` (writes optionalDependencies), then
// `npm pack` (platform manifests as fixed by fixNpmDirs in scripts/platforms.mjs). Built addons are kept in dist/.artifacts/<version>-<source hash>/ so targets can
// be built one run at a time (a change to the Rust sources or the build configuration starts a
// new folder, so an older build is never packed with a newer one); --clean starts from nothing.

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixNpmDirs, TARGETS } from './platforms.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const napi = join(root, 'node_modules', '.bin', 'napi')

function fail(message) {
  console.error(`package: ${message}`)
  process.exit(1)
}

function run(cmd, args, opts = {}) {
  console.log(`$ ${[cmd, ...args].join(' ')}`)
  execFileSync(cmd, args, { stdio: 'inherit', ...opts })
}

function output(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return null
  }
}

function parseArgs(argv) {
  const targets = []
  let clean = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--target' || a === '-t') {
      if (!argv[i + 1] || argv[i + 1].startsWith('-')) fail(`${a} needs a target triple`)
      targets.push(argv[++i])
    } else if (a.startsWith('--target=')) targets.push(a.slice('--target='.length))
    else if (a === '--clean') clean = true
    else fail(`unknown argument ${a} (usage: npm run package -- [--target <triple>]... [--clean])`)
  }
  return { targets, clean }
}

function hostTriple() {
  const out = output('rustc', ['-vV'])
  const host = out && /^host: (\S+)$/m.exec(out)
  if (!host) fail('cannot run `rustc -vV`: install Rust (https://rustup.rs)')
  return host[1]
}

/** Stops with the exact command to run when a target's toolchain is missing. */
function checkToolchain(triple) {
  const installed = output('rustup', ['target', 'list', '--installed'])
  if (installed !== null && !installed.split('\n').includes(triple)) fail(`Rust target ${triple} is missing: rustup target add ${triple}`)
  if (TARGETS[triple].mingw) {
    if (output(TARGETS[triple].mingw, ['--version']) === null) fail(`${TARGETS[triple].mingw} is missing: apt-get install mingw-w64`)
    return
  }
  if (output('cargo', ['zigbuild', '--help']) === null) fail('cargo-zigbuild is missing: pip install ziglang cargo-zigbuild')
  if (output('zig', ['version']) === null && output('python3', ['-m', 'ziglang', 'version']) === null) {
    fail('zig is missing: pip install ziglang')
  }
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const { targets: requested, clean } = parseArgs(process.argv.slice(2))
const targets = requested.length ? requested : [hostTriple()]
for (const t of targets) {
  if (!pkg.napi.targets.includes(t)) fail(`${t} is not in napi.targets of package.json (${pkg.napi.targets.join(', ')})`)
  if (!TARGETS[t]) fail(`${t} has no build recipe in scripts/platforms.mjs`)
}
if (!existsSync(napi)) fail('node_modules is missing: npm install --no-save')

/** A digest of everything a build depends on: the Rust sources and the build configuration. */
function sourceHash() {
  const hash = createHash('sha256')
  const add = (rel) => {
    const p = join(root, rel)
    if (!existsSync(p)) return
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) add(join(rel, e))
    } else {
      hash.update(`${rel}\0`).update(readFileSync(p)).update('\0')
    }
  }
  for (const rel of ['Cargo.toml', 'Cargo.lock', 'build.rs', '.cargo/config.toml', 'src', 'confine', 'scripts/platforms.mjs', 'scripts/confine-helper.mjs']) add(rel)
  return hash.digest('hex').slice(0, 12)
}

if (clean) rmSync(dist, { recursive: true, force: true })
const artifacts = join(dist, '.artifacts', `${pkg.version}-${sourceHash()}`)
mkdirSync(artifacts, { recursive: true })

/**
 * napi-build (build.rs) stops on windows-gnu unless `LIBNODE_PATH` names a folder holding a
 * `libnode.dll` to link against. Nothing is taken from it (napi_* come from the host process at
 * load time, `dyn-symbols`) and the link drops it (the built DLL does not import it; the
 * package check verifies), so an empty DLL built by the target's own mingw gcc does: from
 * scripts/wine/libnode.c, the one the Wine set-up builds too. Made here rather than committed as
 * a binary; returns its folder.
 */
function libnodeShim(gcc) {
  const dir = join(root, 'target', 'libnode-shim', gcc)
  if (!existsSync(join(dir, 'libnode.dll'))) {
    mkdirSync(dir, { recursive: true })
    run(gcc, ['-shared', '-o', join(dir, 'libnode.dll'), join(root, 'scripts', 'wine', 'libnode.c')])
  }
  return dir
}

/** The `napi build` arguments and environment for a target (see scripts/platforms.mjs). */
function buildCommand(t) {
  const common = ['build', '--platform', '--release', '--no-js', '--dts', 'unused.d.ts', '--output-dir', artifacts]
  const recipe = TARGETS[t]
  if (recipe.mingw) {
    const linkerVar = `CARGO_TARGET_${t.toUpperCase().replace(/-/g, '_')}_LINKER`
    return { args: [...common, '--target', t], env: { ...process.env, LIBNODE_PATH: libnodeShim(recipe.mingw), [linkerVar]: recipe.mingw } }
  }
  return { args: [...common, '-x', '--target', recipe.zigTarget], env: process.env }
}

for (const t of targets) {
  checkToolchain(t)
  const started = Date.now()
  const { args, env } = buildCommand(t)
  run(napi, args, { cwd: root, env })
  rmSync(join(artifacts, 'unused.d.ts'), { force: true })
  if (t.includes('-linux-')) {
    // The sandbox helper goes beside the .node in the Linux packages (scripts/confine-helper.mjs).
    const helperDir = join(artifacts, `confine-${TARGETS[t].platform}`)
    run('node', [join(root, 'scripts', 'confine-helper.mjs'), '--zig', '--target', TARGETS[t].zigTarget, '--out', helperDir], { cwd: root })
  }
  console.log(`built ${TARGETS[t].platform} in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

// Every platform built for this version so far (this run or an earlier one) is packed.
const built = pkg.napi.targets.filter((t) => existsSync(join(artifacts, `${pkg.napi.binaryName}.${TARGETS[t].platform}.node`)))

// The staging copy: what `files` lists, the README, and a package.json whose napi.targets are
// the platforms built, so pre-publish writes exactly their optionalDependencies. Scripts and
// devDependencies are the repository's business: the published package carries none.
const stage = join(dist, '.stage')
rmSync(stage, { recursive: true, force: true })
mkdirSync(stage, { recursive: true })
for (const f of [...pkg.files, 'README.md']) cpSync(join(root, f), join(stage, f))
const staged = { ...pkg, napi: { ...pkg.napi, targets: built } }
delete staged.devDependencies
delete staged.scripts
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`)

run(napi, ['create-npm-dirs'], { cwd: stage })
fixNpmDirs(join(stage, 'npm'))
run(napi, ['artifacts', '--output-dir', artifacts, '--npm-dir', 'npm'], { cwd: stage })
run(napi, ['pre-publish', '-t', 'npm', '--skip-optional-publish', '--npm-dir', 'npm'], { cwd: stage })

// Linux packages also carry the sandbox helper, executable, listed in their `files`.
for (const t of built.filter((t) => t.includes('-linux-'))) {
  const helper = join(artifacts, `confine-${TARGETS[t].platform}`, 'sidecar-confine')
  if (!existsSync(helper)) fail(`the sandbox helper for ${t} was not built (${helper}): npm run package -- --target ${t}`)
  const dir = join(stage, 'npm', TARGETS[t].platform)
  cpSync(helper, join(dir, 'sidecar-confine'))
  chmodSync(join(dir, 'sidecar-confine'), 0o755)
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  if (!manifest.files.includes('sidecar-confine')) manifest.files.push('sidecar-confine')
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
}

// Tarballs of an earlier run (another source hash) go: dist/ holds one consistent set.
for (const f of readdirSync(dist)) if (/^agor-sidecar-native(-.+)?-\d.*\.tgz$/.test(f)) rmSync(join(dist, f))
const platformDirs = built.map((t) => join(stage, 'npm', TARGETS[t].platform))
for (const dir of [stage, ...platformDirs]) {
  run('npm', ['pack', '--silent', '--pack-destination', dist], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
}

const expect = [`agor-sidecar-native-${pkg.version}.tgz`, ...built.map((t) => `agor-sidecar-native-${TARGETS[t].platform}-${pkg.version}.tgz`)]
console.log('\ndist/:')
for (const f of expect) {
  const p = join(dist, f)
  if (!existsSync(p)) fail(`npm pack did not write ${f} (found: ${readdirSync(dist).join(', ')})`)
  console.log(`  ${f}  ${(statSync(p).size / 1024).toFixed(0)} KiB`)
}
