// The hand-written loader (loader.js) and the package metadata it must agree with.
import { describe, it, expect } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { HERE } from './helpers.mjs'

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
  it('reads this process: the host running these tests is glibc', () => {
    // The CI machine and this one are Debian (glibc); the engine maps libc.so.6.
    expect(loader.detectLibc()).toBe('glibc')
    expect(loader.platformName()).toBe(`linux-${process.arch}-gnu`)
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

  it('off Linux there is no libc suffix', () => {
    expect(loader.detectLibc({ platform: 'darwin' })).toBeNull()
    expect(loader.platformName({ platform: 'darwin', arch: 'arm64' })).toBe('darwin-arm64')
  })
})

describe('loading (loader.js)', () => {
  it('loads the development build for this machine', () => {
    expect(typeof loader.load().NativeManager).toBe('function')
  })

  it('a musl process without the musl package is told exactly what to install', () => {
    let err
    try {
      loader.load({ platform: 'linux', arch: 'x64', maps: () => MUSL_MAPS })
    } catch (e) {
      err = e
    }
    expect(err?.code).toBe('ERR_SIDECAR_NATIVE_NOT_FOUND')
    expect(err.message).toContain('(linux-x64-musl)')
    expect(err.message).toContain(`npm install @agor/sidecar-native-linux-x64-musl@${pkg.version}`)
  })

  it('a platform with no build says which ones exist', () => {
    expect(() => loader.load({ platform: 'freebsd', arch: 'x64' })).toThrow(
      expect.objectContaining({ code: 'ERR_SIDECAR_UNSUPPORTED_PLATFORM', message: expect.stringContaining('freebsd-x64 (built: linux-x64-gnu') }),
    )
  })
})

describe('package metadata: one list of platforms, one version', () => {
  const platformOf = (triple) => {
    const [arch, , os, abi] = triple.split('-')
    return `${os}-${{ x86_64: 'x64', aarch64: 'arm64' }[arch]}-${abi}`
  }

  it('the loader ships exactly napi.targets, with a literal require for each', () => {
    const names = pkg.napi.targets.map(platformOf)
    expect([...loader.PLATFORMS].sort()).toEqual([...names].sort())
    const source = readFileSync(join(ROOT, 'loader.js'), 'utf8')
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
      expect(p).toMatchObject({ name: `@agor/sidecar-native-${d}`, version: pkg.version, os: [os], cpu: [cpu], libc: [abi === 'gnu' ? 'glibc' : 'musl'], main: `sidecar-native.${d}.node` })
    }
  })

  it('the published files include the loader and run nothing at install time', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['index.js', 'index.mjs', 'index.d.ts', 'loader.js', 'binding.d.ts']))
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[s], s).toBeUndefined()
  })
})
