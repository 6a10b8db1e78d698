// Checks the tarballs `npm run package` wrote for every target of napi.targets: one version
// everywhere, the main package's optionalDependencies naming exactly the platform packages at
// that version, each platform package's os/cpu/libc and its .node, and nothing that would run
// at install time.
//
//   node verify-tarballs.mjs <dist>     prints one line per tarball, exits 1 on a problem

import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TARGETS } from '../platforms.mjs'

const [dist] = process.argv.slice(2)
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const version = pkg.version
const MAIN = pkg.name
// os, cpu and libc as npm spells them, from the napi-rs platform name (`linux-x64-gnu`).
const EXPECT = Object.fromEntries(
  pkg.napi.targets.map((t) => {
    const [os, cpu, abi] = TARGETS[t].platform.split('-')
    // libc only where there is a choice of C library (Linux): npm takes a libc field anywhere
    // else for a mismatch, and win32-x64-gnu's `gnu` names the toolchain (fixNpmDirs).
    return [TARGETS[t].platform, { os: [os], cpu: [cpu], libc: os !== 'linux' ? undefined : [abi === 'musl' ? 'musl' : 'glibc'] }]
  }),
)
// What npm, pnpm, Yarn and Bun would run when installing a package (binding.gyp makes npm run
// node-gyp even without scripts).
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare']

const problems = []
const check = (ok, what) => ok || problems.push(what)
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)

const tarballs = readdirSync(dist).filter((f) => f.endsWith('.tgz'))
const read = (file) => {
  const path = join(dist, file)
  const entries = execFileSync('tar', ['-tzf', path], { encoding: 'utf8' }).trim().split('\n')
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', path, 'package/package.json'], { encoding: 'utf8' }))
  return { file, entries, manifest, size: statSync(path).size }
}
const all = tarballs.map(read)
const main = all.find((t) => t.manifest.name === MAIN)
const platforms = all.filter((t) => t !== main)
check(main, `no ${MAIN} tarball in ${dist}`)

for (const t of all) {
  const m = t.manifest
  check(m.version === version, `${t.file}: version ${m.version}, package.json has ${version}`)
  check(t.file === `${m.name.replace('@', '').replace('/', '-')}-${m.version}.tgz`, `${t.file}: file name does not match ${m.name}@${m.version}`)
  const scripts = Object.keys(m.scripts ?? {}).filter((s) => INSTALL_SCRIPTS.includes(s))
  check(scripts.length === 0, `${t.file}: install-time scripts ${scripts.join(', ')}`)
  check(!t.entries.some((e) => e.endsWith('binding.gyp')), `${t.file}: has a binding.gyp`)
  console.log(`  ${t.file}: ${(t.size / 1024).toFixed(0)} KiB, ${t.entries.length} files`)
}

if (main) {
  const optional = main.manifest.optionalDependencies ?? {}
  const want = Object.fromEntries(Object.keys(EXPECT).map((p) => [`${MAIN}-${p}`, version]).sort())
  check(same(Object.fromEntries(Object.entries(optional).sort()), want), `main optionalDependencies ${JSON.stringify(optional)}, tarballs ${JSON.stringify(want)}`)
  check(!main.entries.some((e) => e.endsWith('.node')), 'the main package holds a .node')
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'loader.js', 'terminal.js', 'binding.d.ts', 'README.md']) {
    check(main.entries.includes(`package/${f}`), `the main package lacks ${f}`)
  }
  console.log(`  optionalDependencies: ${Object.entries(optional).map(([k, v]) => `${k}@${v}`).join(', ')}`)
}

for (const p of Object.keys(EXPECT)) {
  check(platforms.some((t) => t.manifest.name === `${MAIN}-${p}`), `no tarball of ${MAIN}-${p} (napi.targets lists it)`)
}
for (const t of platforms) {
  const m = t.manifest
  const platform = m.name.slice(MAIN.length + 1)
  const want = EXPECT[platform]
  check(want, `${t.file}: unknown platform ${platform}`)
  if (!want) continue
  check(same(m.os, want.os), `${t.file}: os ${JSON.stringify(m.os)}`)
  check(same(m.cpu, want.cpu), `${t.file}: cpu ${JSON.stringify(m.cpu)}, expected ${JSON.stringify(want.cpu)}`)
  check(same(m.libc, want.libc), `${t.file}: libc ${JSON.stringify(m.libc)}, expected ${JSON.stringify(want.libc)}`)
  check(m.main === `sidecar-native.${platform}.node` && t.entries.includes(`package/${m.main}`), `${t.file}: main ${m.main} missing`)
}

for (const p of problems) console.error(`problem: ${p}`)
process.exit(problems.length ? 1 : 0)
