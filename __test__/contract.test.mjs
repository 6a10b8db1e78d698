// The JS contract (src/napi/contract.rs) is written once: the binding's enums carry what the
// core writes, the wrapper spells no code or bound of its own, and every code that can reach
// an app is in the published types.
import { describe, it, expect } from 'vitest'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { HERE, makeManager } from './helpers.mjs'

const require = createRequire(import.meta.url)
const binding = require('../loader.js').load()
const ROOT = join(HERE, '..')

const values = (e) => Object.values(e).sort()
const read = (f) => readFileSync(join(ROOT, f), 'utf8')

/** Every `.rs` file under src/. */
function rustSources(dir = join(ROOT, 'src')) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return rustSources(p)
    return name.endsWith('.rs') ? [p] : []
  })
}

const codeLiterals = (text) => new Set(text.match(/\bERR_[A-Z0-9_]*[A-Z0-9]\b/g) ?? [])

describe('the contract', () => {
  it('the binding enums hold exactly what the core writes', () => {
    const core = binding.contractValues()
    const legacy = binding.SidecarErrorCode.InvalidOptionLegacy
    expect(values(binding.SidecarErrorCode).filter((c) => c !== legacy)).toEqual([...core.errorCodes].sort())
    expect(values(binding.SessionStatus)).toEqual([...core.statuses].sort())
    expect(values(binding.StopReason)).toEqual([...core.stopReasons].sort())
    expect(values(binding.ExitReason)).toEqual([...core.exitReasons].sort())
    expect(values(binding.LifecycleKind)).toEqual([...core.lifecycleKinds].sort())
    expect(values(binding.LimitName)).toEqual([...core.limitNames].sort())
    expect(values(binding.SignalTarget)).toEqual([...core.signalTargets].sort())
  })

  it('index.js and terminal.js spell no error code; every code in any source is in the types', () => {
    for (const f of ['index.js', 'terminal.js']) {
      expect([...codeLiterals(read(f))], f).toEqual([])
    }
    const known = new Set([...values(binding.SidecarErrorCode), ...values(binding.SidecarLoadErrorCode)])
    const sources = ['loader.js', 'index.d.ts', ...rustSources().map((p) => p.slice(ROOT.length + 1))]
    for (const f of sources) {
      for (const code of codeLiterals(read(f))) expect(known.has(code), `${code} in ${f}`).toBe(true)
    }
    // loader.js runs before the binding exists: its codes are the load codes, all of them.
    expect([...codeLiterals(read('loader.js'))].sort()).toEqual(values(binding.SidecarLoadErrorCode))
  })

  it('index.d.ts derives its unions from the binding', () => {
    const dts = read('index.d.ts')
    for (const name of ['SidecarErrorCode', 'SidecarLoadErrorCode', 'SessionStatus', 'StopReason', 'ExitReason', 'LifecycleKind', 'LimitName', 'SignalTarget']) {
      expect(dts, name).toContain(`export type ${name} = \`\${B.${name}}\``)
    }
  })

  it('the sandbox parts: their codes, kinds and network names are the binding\'s, and index.d.ts derives them', () => {
    expect(values(binding.SidecarErrorCode)).toContain('ERR_SANDBOX_UNSUPPORTED')
    expect(values(binding.LifecycleKind)).toEqual(expect.arrayContaining(['sandboxed', 'sandbox-denied']))
    expect(values(binding.NetworkCoverage)).toEqual(['full', 'none', 'tcp'])
    expect(values(binding.SandboxNetwork)).toEqual(['all', 'allowed-domains', 'none'])
    const dts = read('index.d.ts')
    expect(dts).toContain('export type SandboxNetworkCoverage = `${B.NetworkCoverage}`')
    expect(dts).toContain('network: `${B.SandboxNetwork}`')
    const support = makeManager().sandboxSupport()
    expect(values(binding.NetworkCoverage)).toContain(support.network)
    expect(values(binding.NetworkCoverage)).toContain(support.allowedDomains)
  })

  it('every kind of malformed input answers the one code, thrown or returned', () => {
    const code = binding.SidecarErrorCode.InvalidArgument
    const thrown = (f) => {
      try {
        f()
      } catch (err) {
        return [err.constructor.name, err.code]
      }
      return null
    }
    expect(thrown(() => makeManager({ stopGraceMs: -1 }))).toEqual(['TypeError', code])
    expect(thrown(() => makeManager({ limits: { nope: 1 } }))).toEqual(['TypeError', code])
    const m = makeManager()
    expect(m.startSession(1, 'claude', 'x').code).toBe(code)
    expect(m.startSession('s', 'claude', 'x', { limits: { nope: 1 } }).code).toBe(code)
    expect(thrown(() => m.openTerminal('t', { cols: binding.MAX_TERMINAL_SIZE + 1 }))).toEqual(['TypeError', code])
    expect(thrown(() => m.onLifecycle('x'))).toEqual(['TypeError', code])
  })

  it('bounds come from the binding', () => {
    expect(binding.MAX_TERMINAL_SIZE).toBe(65535)
    expect(binding.MAX_LINE_BYTES_LIMIT).toBe(256 * 1024 * 1024)
    expect(binding.MAX_RUNNER_NICE).toBe(19)
    expect(() => makeManager({ maxLineBytes: binding.MAX_LINE_BYTES_LIMIT + 1 })).toThrow(/maxLineBytes/)
    expect(() => makeManager({ runnerNice: binding.MAX_RUNNER_NICE + 1 })).toThrow(/runnerNice/)
    expect(makeManager({ runnerNice: binding.MAX_RUNNER_NICE })).toBeTruthy()
  })
})
