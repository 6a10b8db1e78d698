// Bad input of every kind: a clear error, nothing else lost, the host never crashes.
import { describe, it, expect } from 'vitest'
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeManager, collect, recordedPids, isAlive, waitFor, untilExited, script, started, stopped, ev, NODE, FAKE_CLAUDE, WIN } from './helpers.mjs'
import { rssMB } from './proc.mjs'

const turn = (sid, extra = []) => [started(sid), ...extra, stopped(sid)]
const text = (t) => ev({ type: 'assistant', uuid: t, message: { content: [{ type: 'text', text: t }] } })

/** A runner root whose `<name>-runner.mjs` files have the given contents. */
function runnerRoot(files) {
  const root = mkdtempSync(join(tmpdir(), 'sidecar-root-'))
  mkdirSync(join(root, 'sidecar', 'dist'), { recursive: true })
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(root, 'sidecar', 'dist', `${name}-runner.mjs`), body)
  }
  return root
}

describe('runner output', () => {
  it('NUL bytes and JSON nested 10 000 deep are reported; later lines arrive', async () => {
    const m = makeManager()
    const steps = turn('n', [{ hex: '000000000a' }, { hex: '7b2261223a22000022 7d0a'.replace(/ /g, '') }, { nested: 10_000 }, text('after')])
    expect(m.startSession('n', 'claude', script({ steps })).ok).toBe(true)
    const c = collect(m, 'n')
    await c.until((r) => r.statuses.length === 2, 'turn')
    expect(c.messages.map((x) => x.type)).toEqual(['error', 'error', 'error', 'text'])
    expect(c.messages[2].content.message).toMatch(/recursion limit/)
    expect(c.messages[3].content.text).toBe('after')
  })

  it('a 1 GB line without newline is dropped with memory bounded; later lines arrive', async () => {
    const m = makeManager()
    const before = rssMB()
    let peak = before
    const probe = setInterval(() => (peak = Math.max(peak, rssMB())), 20)
    try {
      const steps = [started('g'), text('before'), { bigNoNewline: 1 << 30 }, { line: '' }, text('after'), stopped('g')]
      expect(m.startSession('g', 'claude', script({ steps })).ok).toBe(true)
      const c = collect(m, 'g')
      await c.until((r) => r.statuses.length === 2, 'turn', 60_000)
      expect(c.messages.map((x) => x.type)).toEqual(['text', 'error', 'text'])
      expect(c.messages[1].content.message).toContain(`${1 << 30} bytes`)
      expect(peak - before).toBeLessThan(150)
    } finally {
      clearInterval(probe)
    }
  }, 90_000)

  it('a runner that closes stdout but stays alive is still supervised', async () => {
    const m = makeManager()
    const cfg = { ignoreStdinEnd: true, steps: [started('c'), text('last words'), { closeStdout: true }, { sleep: 60_000 }] }
    expect(m.startSession('c', 'claude', script(cfg)).ok).toBe(true)
    const c = collect(m, 'c')
    await c.until((r) => r.messages.length === 1, 'last message')
    await waitFor(() => recordedPids().length === 1, 'pid')
    const [pid] = recordedPids()
    expect(isAlive(pid)).toBe(true)
    expect(m.getSession('c')).toMatchObject({ status: 'running', exitCode: null, signal: null })
    expect(m.stopSession('c').ok).toBe(true)
    await untilExited(m, 'c')
    await c.until((r) => r.statuses.at(-1)?.[0] === 'done', 'final done')
    expect(c.statuses).toEqual([['running'], ['done']])
    expect(isAlive(pid)).toBe(false)
  })
})

describe('runner stdin', () => {
  it('a runner that never reads stdin cannot block the JS thread or grow memory: the queue refuses', async () => {
    const m = makeManager()
    expect(m.startSession('s', 'claude', script({ ignoreStdinEnd: true, steps: [started('s'), { stopReadingStdin: true }, stopped('s'), { sleep: 60_000 }] })).ok).toBe(true)
    const c = collect(m, 's')
    await c.until((r) => r.statuses.length === 2, 'turn')
    const big = 'x'.repeat(10 * 1024 * 1024)
    const results = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      results.push(m.writePrompt('s', big))
      expect(performance.now() - t0).toBeLessThan(1000)
    }
    expect(results[0]).toEqual({ ok: true })
    const refused = results.find((r) => !r.ok)
    expect(refused).toMatchObject({ ok: false, code: 'ERR_STDIN_FULL', error: expect.stringMatching(/not reading its stdin/) })
  })

  it('a 10 MB prompt reaches the runner whole', async () => {
    const m = makeManager()
    const prompt = JSON.stringify({ reportPromptLength: true, steps: turn('p'), pad: 'z'.repeat(10 * 1024 * 1024) })
    expect(m.startSession('p', 'claude', prompt).ok).toBe(true)
    const c = collect(m, 'p')
    await c.until((r) => r.statuses.length === 2, 'turn')
    expect(c.messages[0].content).toEqual({ type: 'prompt_length', n: prompt.length })
  })
})

describe('runners and runtimes that cannot work', () => {
  it('a runner that exits at once with 0 or 127', async () => {
    const m = makeManager({ runnerRoot: runnerRoot({ zero: 'process.exit(0)\n', nf: 'process.exit(127)\n' }) })
    expect(m.startSession('z', 'zero', 'x').ok).toBe(true)
    expect(m.startSession('n', 'nf', 'x').ok).toBe(true)
    const cz = collect(m, 'z')
    const cn = collect(m, 'n')
    await cz.until((r) => r.statuses.length === 1, 'exit 0')
    await cn.until((r) => r.statuses.length === 1, 'exit 127')
    expect(cz.statuses).toEqual([['done']])
    expect(cn.statuses).toEqual([['error', 'Exit code: 127']])
  })

  it('a runner file that is not a script, or not executable, fails the session with the exit code', async () => {
    const root = runnerRoot({ junk: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe]), plain: 'process.exit(0)\n' })
    chmodSync(join(root, 'sidecar', 'dist', 'plain-runner.mjs'), 0o000)
    const m = makeManager({ runnerRoot: root })
    expect(m.startSession('j', 'junk', 'x').ok).toBe(true)
    const c = collect(m, 'j')
    await c.until((r) => r.statuses.length === 1, 'exit')
    expect(c.statuses[0][0]).toBe('error')
    expect(c.statuses[0][1]).toMatch(/^Exit code: \d+$/)
    // The runtime reads the file itself, so the execute bit does not matter (as with Bun.spawn).
    expect(m.startSession('p', 'plain', 'x').ok).toBe(true)
    const cp = collect(m, 'p')
    await cp.until((r) => r.statuses.length === 1, 'exit')
  })

  it('a runtime that is not executable is a spawn failure with the OS error', async () => {
    const notExec = join(mkdtempSync(join(tmpdir(), 'sidecar-rt-')), 'node')
    writeFileSync(notExec, 'not a program')
    const m = makeManager({ runtime: notExec })
    const r = m.startSession('x', 'claude', 'hi')
    // Windows has no execute bit: a file that is neither an executable image nor a batch file
    // is refused as CreateProcess would refuse it (ERROR_BAD_EXE_FORMAT, 193).
    expect(r).toMatchObject({ ok: false, code: 'ERR_SPAWN_FAILED', error: expect.stringMatching(WIN ? /os error 193/ : /Permission denied/) })
  })
})

describe('session ids', () => {
  it('10 KB and unicode ids work end to end', async () => {
    const m = makeManager()
    for (const id of ['k'.repeat(10 * 1024), 'séssion-🚀-"quoted"\\n']) {
      expect(m.startSession(id, 'claude', 'hi').ok).toBe(true)
      const c = collect(m, id)
      await c.until((r) => r.statuses.length === 2, `turn of ${id.slice(0, 10)}`)
      expect(c.messages.map((x) => x.type)).toEqual(['init', 'text', 'cost'])
      expect(m.listSessions().some((s) => s.sessionId === id)).toBe(true)
    }
  })
})

describe('dispose, describe, getSession', () => {
  it('dispose stops every session with the stop message, delivers final statuses, and is idempotent', async () => {
    const m = makeManager()
    expect(m.startSession('a', 'claude', 'hi').ok).toBe(true)
    expect(m.startSession('b', 'claude', script({ ignoreStop: true, ignoreSigterm: true, ignoreStdinEnd: true, steps: turn('b') })).ok).toBe(true)
    const ca = collect(m, 'a')
    const cb = collect(m, 'b')
    await ca.until((r) => r.statuses.length === 2, 'a turn')
    await cb.until((r) => r.statuses.length === 2, 'b turn')
    await waitFor(() => recordedPids().length === 2, 'pids')
    const pids = recordedPids()
    expect(m.describe()).toMatchObject({ state: 'ready', running: 2 })
    const p1 = m.dispose()
    const p2 = m.dispose()
    expect(p2).toBe(p1)
    expect(m.describe().state).toBe('disposing')
    await p1
    expect(m.describe()).toEqual({ state: 'disposed', sessions: [], running: 0, terminals: [] })
    expect(pids.filter(isAlive)).toEqual([])
    await expect(m.dispose()).resolves.toBeUndefined()
  })

  it('every method after dispose answers without throwing', async () => {
    const m = makeManager()
    await m.dispose()
    const disposed = { ok: false, error: 'manager is disposed', code: 'ERR_DISPOSED' }
    expect(m.startSession('x', 'claude', 'hi')).toEqual(disposed)
    expect(m.stopSession('x')).toEqual(disposed)
    expect(m.writePrompt('x', 'p')).toEqual(disposed)
    expect(m.listSessions()).toEqual([])
    expect(m.getSession('x')).toBe(null)
    expect(() => m.onMessage('x', () => {})).not.toThrow()
    expect(() => m.onStatus('x', () => {})).not.toThrow()
    expect(() => m.removeSession('x')).not.toThrow()
    expect(m.describe()).toEqual({ state: 'disposed', sessions: [], running: 0, terminals: [] })
  })

  it('getSession reports pid, exit, counters', async () => {
    const m = makeManager()
    expect(m.getSession('none')).toBe(null)
    expect(m.startSession('g', 'claude', script({ steps: [...turn('g', [text('a'), { line: 'junk' }]), { exit: 4 }] })).ok).toBe(true)
    await untilExited(m, 'g')
    // The exit code is known at once; the status follows once the last output is delivered.
    await waitFor(() => m.getSession('g').status === 'error', 'error status')
    const s = m.getSession('g')
    expect(s).toMatchObject({ sessionId: 'g', provider: 'claude', status: 'error', exitCode: 4, signal: null, messages: 2, droppedLines: 1 })
    expect(s.pid).toBeGreaterThan(0)
    expect(s.bytesIn).toBeGreaterThan(50)
    expect(s.bytesOut).toBeGreaterThan(50)
    expect(s.uptimeMs).toBeGreaterThanOrEqual(0)
    expect(typeof s.lastOutputAt).toBe('number')
  })
})
