// The runner build step through the public API: a build that succeeds, fails, times out, one
// that two sessions wait for, and "stale" with a touched watched file.
import { describe, it, expect } from 'vitest'
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeManager, collect, waitFor, script, started, stopped, FIXTURES, NODE, WIN } from './helpers.mjs'

/** A runner root with no runner yet, and a build script that makes the codex runner. */
function project({ fail = false, sleepMs = 0 } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'sidecar-build-'))
  const count = join(root, 'builds')
  const runner = join(root, 'sidecar', 'dist', 'codex-runner.mjs')
  const builds = () => (existsSync(count) ? readFileSync(count, 'utf8').split('\n').filter(Boolean).length : 0)
  // A file: URL: ESM on Windows refuses a drive letter as a URL scheme.
  const body = `import ${JSON.stringify(pathToFileURL(join(FIXTURES, 'fake-runner.mjs')).href)}`
  if (WIN) {
    // Windows has no sh: the same build as a Node script (count, wait, fail or write the runner).
    const js = `const fs = require('node:fs')
fs.appendFileSync(${JSON.stringify(count)}, 'run\\n')
setTimeout(() => {
  if (${fail}) { console.error('compiling...'); console.error('error TS2304: cannot find name x'); process.exit(2) }
  fs.mkdirSync(${JSON.stringify(join(root, 'sidecar', 'dist'))}, { recursive: true })
  fs.writeFileSync(${JSON.stringify(runner)}, ${JSON.stringify(body)})
  console.log('built')
}, ${sleepMs})`
    return { root, runner, builds, command: [NODE, '-e', js] }
  }
  const sh = [
    `echo run >> ${JSON.stringify(count)}`,
    sleepMs ? `sleep ${sleepMs / 1000}` : ':',
    fail ? `echo "compiling..." >&2; echo "error TS2304: cannot find name x" >&2; exit 2` : `mkdir -p ${JSON.stringify(join(root, 'sidecar', 'dist'))} && printf '%s' ${JSON.stringify(body)} > ${JSON.stringify(runner)} && echo built`,
  ].join('; ')
  return { root, runner, builds, command: ['/bin/sh', '-c', sh] }
}

function lifecycle(m) {
  const all = []
  m.onLifecycle((e) => all.push(e))
  return { all, kinds: (id) => all.filter((e) => e.id === id).map((e) => e.kind) }
}

const turn = (id) => script({ steps: [started(id), stopped(id), { exit: 0 }] })

describe('runner build step', () => {
  it('builds a missing runner once for two sessions started during the build, then runs both', async () => {
    const p = project({ sleepMs: 300 })
    const m = makeManager({ runnerRoot: p.root, runnerBuild: { command: p.command } })
    const lc = lifecycle(m)
    expect(m.startSession('a', 'codex', turn('a'))).toEqual({ ok: true })
    expect(m.startSession('b', 'codex', turn('b'))).toEqual({ ok: true })
    const a = collect(m, 'a')
    const b = collect(m, 'b')
    await a.untilStatus('done', 15_000)
    await b.untilStatus('done', 15_000)
    expect(p.builds()).toBe(1)
    for (const id of ['a', 'b']) {
      expect(lc.kinds(id).slice(0, 4)).toEqual(['building', 'built', 'spawning', 'spawned'])
    }
    expect(lc.all.find((e) => e.kind === 'built').durationMs).toBeGreaterThanOrEqual(250)
    // Built: the next session needs no build.
    m.startSession('c', 'codex', turn('c'))
    await collect(m, 'c').untilStatus('done', 15_000)
    expect(p.builds()).toBe(1)
    expect(lc.kinds('c')[0]).toBe('spawning')
  })

  it('a failed build ends the waiting session in error with its last line, and the next start tries again', async () => {
    const p = project({ fail: true })
    const m = makeManager({ runnerRoot: p.root, runnerBuild: { command: p.command } })
    const lc = lifecycle(m)
    m.startSession('f', 'codex', turn('f'))
    const c = collect(m, 'f')
    await c.untilStatus('error', 15_000)
    expect(c.statuses).toEqual([['error', 'Runner build failed: error TS2304: cannot find name x']])
    const failed = lc.all.find((e) => e.kind === 'build-failed')
    expect(failed.output).toContain('compiling...')
    expect(failed.output).toContain('error TS2304')
    await waitFor(() => lc.kinds('f').includes('exited'), 'exited')
    expect(lc.kinds('f')).toEqual(['building', 'build-failed', 'exited'])
    expect(lc.all.find((e) => e.kind === 'exited').reason).toBe('build-failed')
    m.startSession('g', 'codex', turn('g'))
    await collect(m, 'g').untilStatus('error', 15_000)
    expect(p.builds()).toBe(2)
  })

  it('a build past its timeout is ended and reported as timed out', async () => {
    const p = project({ sleepMs: 30_000 })
    const m = makeManager({ runnerRoot: p.root, runnerBuild: { command: p.command, timeoutMs: 300 } })
    m.startSession('t', 'codex', turn('t'))
    const c = collect(m, 't')
    await c.untilStatus('error', 15_000)
    expect(c.statuses[0][1]).toMatch(/^Runner build failed: timed out after 300 ms/)
  })

  it('"stale" rebuilds when a watched file is newer than the runner', async () => {
    const p = project()
    const src = join(p.root, 'src')
    mkdirSync(src)
    writeFileSync(join(src, 'runner.ts'), '// source')
    const m = makeManager({ runnerRoot: p.root, runnerBuild: { command: p.command, when: 'stale', watch: [src], cwd: p.root } })
    m.startSession('s1', 'codex', turn('s1'))
    await collect(m, 's1').untilStatus('done', 15_000)
    expect(p.builds()).toBe(1)
    m.startSession('s2', 'codex', turn('s2'))
    await collect(m, 's2').untilStatus('done', 15_000)
    expect(p.builds()).toBe(1)
    const later = new Date(Date.now() + 60_000)
    utimesSync(join(src, 'runner.ts'), later, later)
    m.startSession('s3', 'codex', turn('s3'))
    await collect(m, 's3').untilStatus('done', 15_000)
    expect(p.builds()).toBe(2)
  })

  it('a session stopped while it waits for the build ends without a runner; bad options are refused', async () => {
    const p = project({ sleepMs: 500 })
    const m = makeManager({ runnerRoot: p.root, runnerBuild: { command: p.command } })
    const lc = lifecycle(m)
    m.startSession('w', 'codex', turn('w'))
    const c = collect(m, 'w')
    expect(m.stopSession('w').ok).toBe(true)
    await c.untilStatus('done', 15_000)
    await waitFor(() => lc.kinds('w').includes('exited'), 'exited')
    expect(lc.kinds('w')).toEqual(['building', 'stopping', 'built', 'exited'])
    expect(m.getSession('w').pid).toBe(0)
    expect(() => makeManager({ runnerBuild: { command: [] } })).toThrow(/runnerBuild.command/)
    expect(() => makeManager({ runnerBuild: { command: ['x'], when: 'sometimes' } })).toThrow(/runnerBuild.when/)
    expect(() => makeManager({ runnerBuild: { command: ['x'], nope: 1 } })).toThrow(/unknown field "nope"/)
  })
})
