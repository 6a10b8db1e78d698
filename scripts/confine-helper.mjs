#!/usr/bin/env node
// Builds the sandbox helper (confine/, Linux only) and puts it beside the addon:
//   node scripts/confine-helper.mjs [--debug] [--target <triple>] [--out <dir>] [--zig]
// The addon looks for `sidecar-confine` in its own folder (src/process/linux/confine.rs), so
// `npm run build` leaves it in the project root next to sidecar-native.<platform>.node, and
// scripts/package.mjs puts it in each Linux platform package.
import { execFileSync } from 'node:child_process'
import { copyFileSync, chmodSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const value = (name) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const target = value('--target')
const out = resolve(value('--out') ?? root)
const profile = flag('--debug') ? 'debug' : 'release'

if (!(target ? target.includes('-linux-') : process.platform === 'linux')) {
  console.log('confine-helper: not a Linux target, nothing to build')
  process.exit(0)
}
const cargoArgs = [flag('--zig') ? 'zigbuild' : 'build', '-p', 'sidecar-confine', '--bin', 'sidecar-confine']
if (profile === 'release') cargoArgs.push('--release')
if (target) cargoArgs.push('--target', target)
console.log(`$ cargo ${cargoArgs.join(' ')}`)
execFileSync('cargo', cargoArgs, { cwd: root, stdio: 'inherit' })
// cargo-zigbuild's glibc pin (`x86_64-unknown-linux-gnu.2.17`) is not part of the output folder.
const triple = target?.replace(/\.\d+(\.\d+)*$/, '')
const built = join(root, 'target', ...(triple ? [triple] : []), profile, 'sidecar-confine')
mkdirSync(out, { recursive: true })
copyFileSync(built, join(out, 'sidecar-confine'))
chmodSync(join(out, 'sidecar-confine'), 0o755)
console.log(`confine-helper: ${join(out, 'sidecar-confine')}`)
