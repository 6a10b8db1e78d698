import { describe, it, expect } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { HERE, NODE } from './helpers.mjs'
import { removeFlatDir } from './proc.mjs'

const require = createRequire(import.meta.url)
const { SidecarManager } = require('../index.js')

describe('package entry points', () => {
  it('CommonJS require and ESM import give the same class, in the engine itself', () => {
    // A child of this very engine (node or bun): vitest transforms ESM imports of CommonJS
    // itself, so only the engine's own loader shows what an app gets.
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-esm-'))
    try {
      const script = join(dir, 'entry.mjs')
      writeFileSync(
        script,
        // A file: URL, not a path: ESM on Windows refuses a drive letter as a URL scheme.
        `import esmDefault, { SidecarManager as Esm } from ${JSON.stringify(pathToFileURL(join(HERE, '..', 'index.mjs')).href)}
import { createRequire } from 'node:module'
const cjs = createRequire(import.meta.url)(${JSON.stringify(join(HERE, '..', 'index.js'))})
console.log(JSON.stringify({ named: Esm === cjs.SidecarManager, default: esmDefault === cjs.SidecarManager, name: Esm.name }))
`,
      )
      const out = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 }))
      expect(out).toEqual({ named: true, default: true, name: 'SidecarManager' })
    } finally {
      removeFlatDir(dir)
    }
  })

  it('runs under the runtime this suite was started for', () => {
    const expected = process.env.EXPECT_RUNTIME
    const actual = process.versions.bun ? 'bun' : 'node'
    if (expected) expect(actual).toBe(expected)
    expect(['bun', 'node']).toContain(actual)
  })

  it('runners run on the Node line this suite was started for (EXPECT_NODE_MAJOR)', () => {
    const version = (node) => execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 20_000 }).trim()
    const runners = version(NODE)
    // Under Bun, process.versions.node is Bun's claim, not a Node binary.
    if (!process.versions.bun) expect(runners).toBe(process.versions.node)
    const major = process.env.EXPECT_NODE_MAJOR
    if (major) {
      expect(runners.split('.')[0]).toBe(major)
      // scripts/test.sh puts the tested line first in PATH, for whatever looks `node` up.
      expect(version('node')).toBe(runners)
    }
  })

  it('has every method of the TypeScript manager', () => {
    for (const name of ['startSession', 'stopSession', 'writePrompt', 'listSessions', 'onMessage', 'onStatus', 'removeSession', 'getSession', 'describe', 'dispose']) {
      expect(typeof SidecarManager.prototype[name], name).toBe('function')
    }
  })
})
