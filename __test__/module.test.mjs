import { describe, it, expect } from 'vitest'
import { createRequire } from 'node:module'
import esmDefault, { SidecarManager as EsmManager } from '../index.mjs'

const require = createRequire(import.meta.url)

describe('package entry points', () => {
  it('CommonJS require and ESM import give the same class', () => {
    const cjs = require('../index.js')
    expect(typeof cjs.SidecarManager).toBe('function')
    expect(EsmManager).toBe(cjs.SidecarManager)
    expect(esmDefault).toBe(cjs.SidecarManager)
    expect(cjs.SidecarManager.name).toBe('SidecarManager')
  })

  it('runs under the runtime this suite was started for', () => {
    const expected = process.env.EXPECT_RUNTIME
    const actual = process.versions.bun ? 'bun' : 'node'
    if (expected) expect(actual).toBe(expected)
    expect(['bun', 'node']).toContain(actual)
  })

  it('has every method of the TypeScript manager', () => {
    for (const name of ['startSession', 'stopSession', 'writePrompt', 'listSessions', 'onMessage', 'onStatus', 'removeSession', 'getSession', 'describe', 'dispose']) {
      expect(typeof EsmManager.prototype[name], name).toBe('function')
    }
  })
})
