// The hand-written loader (loader.js) and the package metadata it must agree with.
import { describe, it, expect } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { HERE } from './helpers.mjs'
import { TARGETS } from '../scripts/platforms.mjs'

const require = createRequire(import.meta.url)
const loader = require('../loader.js')
const ROOT = join(HERE, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const none = () => null

// Excerpts of /proc/self/maps as each libc leaves them.
const GLIBC_MAPS = `7f2c1a000000-7f2c1a028000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6
7f2c1a200000-7f2c1a22a000 r--p 00000000 08:01 1235 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`
const MUSL_MAPS = `7f8d3c400000-7f8d3c414000 r--p 00000000 00:2f 4321 /lib/ld-musl-x86_64.so.1
7f8d3c600000-7f8d3c700000 r-xp 00000000 00:2f 4322 /usr/lib/libstdc++.so.6.0.33`
const ARM_GLIBC_MAPS = 'ffff8a000000-ffff8a190000 r-xp 00000000 08:01 99 /usr/lib/aarch64-linux-gnu/libc.so.6'

describe('libc detection (loader.js)', () => {
  it('reads this process: agrees with the glibc version the engine itself reports', () => {
    if (process.platform === 'win32') {
      // Windows: no libc to detect; the package is the mingw (gnu) build of the CPU.
      expect(loader.detectLibc()).toBeNull()
      expect(loader.platformName()).toBe(`win32-${process.arch}-gnu`)
      return
    }
    // Node and glibc Bun report glibcVersionRuntime exactly when they run on glibc.
    const runtime = process.report.getReport().header.glibcVersionRuntime
    const libc = runtime ? 'glibc' : 'musl'
    expect(loader.detectLibc()).toBe(libc)
    expect(loader.platformName()).toBe(`linux-${process.arch}-${libc === 'glibc' ? 'gnu' : 'musl'}`)
  })

  it('leaves the app\'s report settings as they were', () => {
    const before = process.report.excludeNetwork
    process.report.excludeNetwork = false
    try {
      loader.detectLibc({ platform: 'linux', maps: none, ldd: none })
      expect(process.report.excludeNetwork).toBe(false)
    } finally {
      process.report.excludeNetwork = before
    }
  })

  it('the loader decides over other libraries: gcompat\'s libc.so.6 in a musl process', () => {
    const maps = () => `${MUSL_MAPS}\n7f8d3c800000-7f8d3c810000 r-xp 00000000 00:2f 4323 /lib/libc.so.6`
    expect(loader.detectLibc({ platform: 'linux', maps, report: none, ldd: none })).toBe('musl')
    const glibcWithBundledLibc = () => `${GLIBC_MAPS}\n7f2c1a400000-7f2c1a410000 r-xp 00000000 08:01 9 /opt/app/lib/libc.so`
    expect(loader.detectLibc({ platform: 'linux', maps: glibcWithBundledLibc, report: none, ldd: none })).toBe('glibc')
  })

  it('trusts the mapped C library over a musl ldd (glibc AppImage on Alpine, napi-rs#3223)', () => {
    const src = { platform: 'linux', maps: () => GLIBC_MAPS, report: none, ldd: () => '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"' }
    expect(loader.detectLibc(src)).toBe('glibc')
  })

  it('trusts the mapped C library over a glibc ldd (musl engine on a glibc distribution)', () => {
    const src = { platform: 'linux', maps: () => MUSL_MAPS, report: none, ldd: () => 'GNU C Library ldd' }
    expect(loader.detectLibc(src)).toBe('musl')
    expect(loader.platformName({ ...src, arch: 'x64' })).toBe('linux-x64-musl')
    expect(loader.platformName({ platform: 'linux', arch: 'arm64', maps: () => ARM_GLIBC_MAPS })).toBe('linux-arm64-gnu')
  })

  it("Debian's musl package maps its loader as .../x86_64-linux-musl/libc.so", () => {
    const maps = () => '7f0000000000-7f0000014000 r--p 00000000 08:01 5 /usr/lib/x86_64-linux-musl/libc.so'
    expect(loader.detectLibc({ platform: 'linux', maps, report: none, ldd: none })).toBe('musl')
  })

  it('without /proc: the report decides, then ldd, then glibc', () => {
    expect(loader.detectLibc({ platform: 'linux', maps: none, report: () => ({ header: { glibcVersionRuntime: '2.36' } }), ldd: () => 'musl' })).toBe('glibc')
    expect(loader.detectLibc({ platform: 'linux', maps: none, report: () => ({ header: {}, sharedObjects: ['/lib/ld-musl-aarch64.so.1'] }), ldd: none })).toBe('musl')
    expect(loader.detectLibc({ platform: 'linux', maps: none, report: none, ldd: () => 'musl libc (x86_64)' })).toBe('musl')
    expect(loader.detectLibc({ platform: 'linux', maps: none, report: none, ldd: none })).toBe('glibc')
  })

  it('a map that names neither libc (static engine) falls through to the other sources', () => {
    const maps = () => '00400000-00452000 r-xp 00000000 08:01 7 /usr/local/bin/engine'
    expect(loader.detectLibc({ platform: 'linux', maps, report: none, ldd: () => 'musl' })).toBe('musl')
  })

  it('macOS: the darwin package of the CPU, no libc suffix', () => {
    let asked = null
    const got = loader.load({ platform: 'darwin', arch: 'arm64', requireLocal: () => ({ error: Object.assign(new Error('x'), { code: 'MODULE_NOT_FOUND' }) }), requirePackage: (n) => ((asked = n), { binding: { NativeManager: class {} }, version: pkg.version }) })
    expect(asked).toBe('darwin-arm64')
    expect(typeof got.NativeManager).toBe('function')
  })

  it('off Linux there is no libc suffix', () => {
    expect(loader.detectLibc({ platform: 'darwin' })).toBeNull()
    expect(loader.platformName({ platform: 'darwin', arch: 'arm64' })).toBe('darwin-arm64')
  })

  it('Windows x64: the mingw (gnu) package, whatever a libc source would say', () => {
    // Node and Bun on Windows are MSVC builds; the gnu suffix names how the addon is built.
    const glibcSources = { maps: () => GLIBC_MAPS, report: () => ({ header: { glibcVersionRuntime: '2.36' } }), ldd: () => 'GNU C Library' }
    expect(loader.detectLibc({ platform: 'win32', ...glibcSources })).toBeNull()
    expect(loader.platformName({ platform: 'win32', arch: 'x64', maps: () => MUSL_MAPS })).toBe('win32-x64-gnu')
    const asked = []
    const got = loader.load({
      platform: 'win32',
      arch: 'x64',
      requireLocal: (n) => (asked.push(`local ${n}`), { error: Object.assign(new Error('x'), { code: 'MODULE_NOT_FOUND' }) }),
      requirePackage: (n) => (asked.push(`package ${n}`), { binding: { NativeManager: class {} }, version: pkg.version }),
    })
    expect(asked).toEqual(['local win32-x64-gnu', 'package win32-x64-gnu'])
    expect(typeof got.NativeManager).toBe('function')
  })
})

describe('loading (loader.js)', () => {
  const version = pkg.version
  const binding = { NativeManager: class {} }
  const notFound = (what) => Object.assign(new Error(`Cannot find module '${what}'`), { code: 'MODULE_NOT_FOUND' })
  const noLocal = () => ({ error: notFound('./sidecar-native.node') })
  const linux = { platform: 'linux', arch: 'x64', maps: () => GLIBC_MAPS }

  it('loads the development build for this machine', () => {
    expect(typeof loader.load().NativeManager).toBe('function')
  })

  it('a development build beside the package comes first', () => {
    const got = loader.load({ ...linux, requireLocal: () => ({ binding }), requirePackage: () => ({ error: notFound('pkg') }) })
    expect(got).toBe(binding)
  })

  it('otherwise the platform package of the same version', () => {
    const seen = []
    const got = loader.load({ ...linux, requireLocal: noLocal, requirePackage: (n) => (seen.push(n), { binding, version }) })
    expect(got).toBe(binding)
    expect(seen).toEqual(['linux-x64-gnu'])
  })

  it('a musl process without the musl package is told exactly what to install', () => {
    let err
    try {
      loader.load({ platform: 'linux', arch: 'x64', maps: () => MUSL_MAPS, requireLocal: noLocal, requirePackage: () => ({ error: notFound('@agor/sidecar-native-linux-x64-musl') }) })
    } catch (e) {
      err = e
    }
    expect(err?.code).toBe('ERR_SIDECAR_NATIVE_NOT_FOUND')
    expect(err.message).toContain('(linux-x64-musl)')
    expect(err.message).toContain(`npm install @agor/sidecar-native-linux-x64-musl@${version}`)
    expect(err.cause.code).toBe('MODULE_NOT_FOUND')
  })

  it('a platform package of another version is refused, naming both versions', () => {
    expect(() => loader.load({ ...linux, requireLocal: noLocal, requirePackage: () => ({ binding, version: '0.0.1' }) })).toThrow(
      expect.objectContaining({
        code: 'ERR_SIDECAR_NATIVE_VERSION',
        message: expect.stringContaining(`needs @agor/sidecar-native-linux-x64-gnu@${version}, but 0.0.1 is installed`),
      }),
    )
  })

  it('an addon that is there but cannot be loaded reports the engine\'s error', () => {
    const dlopen = Object.assign(new Error('libc.so: cannot open shared object file'), { code: 'ERR_DLOPEN_FAILED' })
    let err
    try {
      loader.load({ ...linux, requireLocal: noLocal, requirePackage: () => ({ error: dlopen }) })
    } catch (e) {
      err = e
    }
    expect(err?.code).toBe('ERR_SIDECAR_NATIVE_LOAD')
    expect(err.message).toContain('linux-x64-gnu could not be loaded: libc.so: cannot open shared object file')
    expect(err.cause).toBe(dlopen)
  })

  it('a broken development build and a broken package are both reported', () => {
    const local = new Error('local: wrong ELF class')
    const remote = new Error('package: undefined symbol')
    let err
    try {
      loader.load({ ...linux, requireLocal: () => ({ error: local }), requirePackage: () => ({ error: remote }) })
    } catch (e) {
      err = e
    }
    expect(err?.code).toBe('ERR_SIDECAR_NATIVE_LOAD')
    expect(err.cause).toBeInstanceOf(AggregateError)
    expect(err.cause.errors).toEqual([local, remote])
  })

  it('Windows x64 without the win32 package is told exactly what to install', () => {
    let err
    try {
      loader.load({ platform: 'win32', arch: 'x64', requireLocal: noLocal, requirePackage: () => ({ error: notFound('@agor/sidecar-native-win32-x64-gnu') }) })
    } catch (e) {
      err = e
    }
    expect(err?.code).toBe('ERR_SIDECAR_NATIVE_NOT_FOUND')
    expect(err.message).toContain('(win32-x64-gnu)')
    expect(err.message).toContain(`npm install @agor/sidecar-native-win32-x64-gnu@${version}`)
    expect(err.cause.code).toBe('MODULE_NOT_FOUND')
  })

  it('Windows: a DLL that is there but does not load is a load error, not a missing package', () => {
    // What Windows Node says when LoadLibrary fails (e.g. an imported DLL is absent): "module"
    // here is a DLL, and the package is installed.
    const dlopen = Object.assign(new Error('The specified module could not be found.\r\n\\\\?\\C:\\app\\node_modules\\@agor\\sidecar-native-win32-x64-gnu\\sidecar-native.win32-x64-gnu.node'), { code: 'ERR_DLOPEN_FAILED' })
    let err
    try {
      loader.load({ platform: 'win32', arch: 'x64', requireLocal: noLocal, requirePackage: () => ({ error: dlopen }) })
    } catch (e) {
      err = e
    }
    expect(err?.code).toBe('ERR_SIDECAR_NATIVE_LOAD')
    expect(err.message).toContain('win32-x64-gnu could not be loaded: The specified module could not be found.')
    expect(err.cause).toBe(dlopen)
  })

  it('Windows x64 with a win32 package of another version is refused', () => {
    expect(() => loader.load({ platform: 'win32', arch: 'x64', requireLocal: noLocal, requirePackage: () => ({ binding, version: '0.0.1' }) })).toThrow(
      expect.objectContaining({ code: 'ERR_SIDECAR_NATIVE_VERSION', message: expect.stringContaining(`needs @agor/sidecar-native-win32-x64-gnu@${version}, but 0.0.1 is installed`) }),
    )
  })

  it('Windows on arm64 has no build: unsupported, naming the Windows build that exists', () => {
    const asked = []
    expect(() => loader.load({ platform: 'win32', arch: 'arm64', requireLocal: (n) => (asked.push(n), { binding }), requirePackage: (n) => (asked.push(n), { binding, version }) })).toThrow(
      expect.objectContaining({ code: 'ERR_SIDECAR_UNSUPPORTED_PLATFORM', message: expect.stringMatching(/no native build for win32-arm64-gnu \(built: .*win32-x64-gnu/) }),
    )
    expect(asked).toEqual([])
  })

  it('a platform with no build says which ones exist', () => {
    expect(() => loader.load({ platform: 'freebsd', arch: 'x64' })).toThrow(
      expect.objectContaining({ code: 'ERR_SIDECAR_UNSUPPORTED_PLATFORM', message: expect.stringContaining('freebsd-x64 (built: linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, darwin-arm64, darwin-x64') }),
    )
  })
})

describe('package metadata: one list of platforms, one version', () => {
  const platformOf = (triple) => TARGETS[triple].platform

  it('scripts/platforms.mjs knows how to build every target of napi.targets', () => {
    expect(Object.keys(TARGETS).sort()).toEqual([...pkg.napi.targets].sort())
  })

  it('the loader ships exactly napi.targets, each case requiring its own files', () => {
    const names = pkg.napi.targets.map(platformOf)
    expect([...loader.PLATFORMS].sort()).toEqual([...names].sort())
    const source = readFileSync(join(ROOT, 'loader.js'), 'utf8')
    // Every case of the three switches returns the files of its own platform.
    const cases = [...source.matchAll(/case '([^']+)':\s*return ([^\n]+)/g)]
    expect(cases.length).toBe(3 * names.length)
    for (const [, name, body] of cases) {
      const required = [...body.matchAll(/require\('([^']+)'\)/g)].map((m) => m[1])
      expect(required.length, body).toBeGreaterThan(0)
      for (const r of required) {
        expect([`./sidecar-native.${name}.node`, `@agor/sidecar-native-${name}`, `@agor/sidecar-native-${name}/package.json`], `${name}: ${r}`).toContain(r)
      }
    }
    for (const n of names) {
      expect(source).toContain(`require('./sidecar-native.${n}.node')`)
      expect(source).toContain(`require('@agor/sidecar-native-${n}')`)
      expect(source).toContain(`require('@agor/sidecar-native-${n}/package.json')`)
    }
  })

  it('npm/ has one package per target, at the root version, with its os/cpu/libc', () => {
    const dirs = readdirSync(join(ROOT, 'npm')).sort()
    expect(dirs).toEqual(pkg.napi.targets.map(platformOf).sort())
    for (const d of dirs) {
      const p = JSON.parse(readFileSync(join(ROOT, 'npm', d, 'package.json'), 'utf8'))
      const [os, cpu, abi] = d.split('-')
      expect(p).toMatchObject({ name: `@agor/sidecar-native-${d}`, version: pkg.version, os: [os], cpu: [cpu], main: `sidecar-native.${d}.node` })
      // libc only on Linux, where there is a choice of C library: npm treats a libc field
      // anywhere else as a mismatch (win32-x64-gnu's `gnu` is the toolchain, not a libc).
      expect(p.libc).toEqual(os !== 'linux' ? undefined : [abi === 'gnu' ? 'glibc' : 'musl'])
    }
  })

  it('the published files include the loader and run nothing at install time', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['index.js', 'index.mjs', 'index.d.ts', 'loader.js', 'terminal.js', 'binding.d.ts']))
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[s], s).toBeUndefined()
  })
})
