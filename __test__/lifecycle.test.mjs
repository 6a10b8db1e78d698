// Lifecycle events: each kind, their order per id (with the statuses and messages of that id),
// never repeated, for agent sessions and terminals, through onLifecycle(cb) and onLifecycle(id, cb).
import { describe, it, expect } from 'vitest'
import { makeManager, collect, waitFor, script, started, stopped, ev, untilExited, WIN, NODE } from './helpers.mjs'

// Windows has no signals: every stop step terminates the child's Job Object, and events say
// so (`signal: 'terminate-job'`, `target: 'job'`); a process ended that way exits with code 1.
const TERMINATE_JOB = { signal: 'terminate-job', target: 'job' }

/** Every lifecycle event of `m` (all ids), with awaitable conditions. */
function events(m) {
  const rec = { all: [], waiters: [] }
  m.onLifecycle((e) => {
    rec.all.push(e)
    rec.waiters = rec.waiters.filter((w) => (w.pred() ? (w.resolve(), false) : true))
  })
  rec.of = (id) => rec.all.filter((e) => e.id === id)
  rec.kinds = (id) => rec.of(id).map((e) => e.kind)
  rec.until = (pred, what, ms = 10_000) =>
    new Promise((resolve, reject) => {
      if (pred()) return resolve()
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(rec.all.map((e) => [e.id, e.kind]))}`)), ms)
      rec.waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) })
    })
  rec.untilKind = (id, kind, ms) => rec.until(() => rec.kinds(id).includes(kind), `${id} ${kind}`, ms)
  return rec
}

describe('lifecycle events of agent sessions', () => {
  it('spawning → spawned → ready → stopping → exited → removed, in order with messages and statuses', async () => {
    const m = makeManager({ cleanupGraceMs: 200 })
    const lc = events(m)
    const own = []
    const sub = m.onLifecycle('a', (e) => own.push(e.kind))
    const steps = [started('a'), ev({ type: 'assistant', uuid: 'x', message: { content: [{ type: 'text', text: 'hi' }] } }), stopped('a')]
    expect(m.startSession('a', 'claude', script({ steps })).ok).toBe(true)
    const c = collect(m, 'a')
    // Order across kinds: every lifecycle event and status is stamped as it arrives.
    const order = []
    m.onLifecycle('a', (e) => order.push(`l:${e.kind}`))
    m.onStatus('a', (_, s) => order.push(`s:${s}`))
    m.onMessage('a', (_, msgs) => order.push(...msgs.map(() => 'm')))
    await c.untilStatus('done')
    await lc.untilKind('a', 'ready')
    expect(m.stopSession('a').ok).toBe(true)
    await lc.untilKind('a', 'removed')
    expect(lc.kinds('a')).toEqual(['spawning', 'spawned', 'ready', 'stopping', 'exited', 'removed'])
    expect(own).toEqual(lc.kinds('a'))
    const byKind = Object.fromEntries(lc.of('a').map((e) => [e.kind, e]))
    expect(byKind.spawned.pid).toBeGreaterThan(0)
    expect(byKind.ready.sinceStartMs).toBeGreaterThanOrEqual(0)
    expect(byKind.ready.sinceStartMs).toBeLessThan(10_000)
    expect(byKind.stopping.reason).toBe('stop')
    expect(byKind.exited).toMatchObject({ exitCode: 0, signal: null, reason: 'stop', source: 'session' })
    for (const e of lc.of('a')) expect(typeof e.at).toBe('number')
    const at = lc.of('a').map((e) => e.at)
    expect([...at].sort((x, y) => x - y)).toEqual(at)
    // The exit comes after the last message and the final status.
    expect(order.indexOf('l:exited')).toBeGreaterThan(order.lastIndexOf('m'))
    expect(order.indexOf('l:exited')).toBeGreaterThan(order.lastIndexOf('s:done'))
    // Statuses are those of the TypeScript manager, unchanged.
    expect(c.statuses).toEqual([['running'], ['done']])
    sub.dispose()
  })

  it('removeSession of a live runner: stopping(remove), SIGTERM to the group, exited, removed — also to the per-id listener', async () => {
    const m = makeManager()
    const lc = events(m)
    const own = []
    m.onLifecycle('r', (e) => own.push(e.kind))
    m.startSession('r', 'claude', script({ ignoreStdinEnd: true, steps: [started('r')] }))
    await lc.untilKind('r', 'ready')
    m.removeSession('r')
    await lc.untilKind('r', 'removed')
    expect(lc.kinds('r')).toEqual(['spawning', 'spawned', 'ready', 'stopping', 'signal', 'exited', 'removed'])
    const sig = lc.of('r').find((e) => e.kind === 'signal')
    expect(sig).toMatchObject({ ...(WIN ? TERMINATE_JOB : { signal: 'SIGTERM', target: 'group' }), why: 'remove' })
    // The fake runner's SIGTERM handler exits with 143; on Windows the job is terminated (1).
    expect(lc.of('r').find((e) => e.kind === 'exited')).toMatchObject({ reason: 'remove', exitCode: WIN ? 1 : 143, signal: null })
    expect(own).toEqual(lc.kinds('r'))
  })

  it('a runner that ignores the stop gets SIGTERM when the stop grace elapses, then SIGKILL', async () => {
    const m = makeManager({ stopGraceMs: 100, killGraceMs: 200 })
    const lc = events(m)
    m.startSession('k', 'claude', script({ ignoreStop: true, ignoreSigterm: true, steps: [started('k')] }))
    await lc.untilKind('k', 'ready')
    m.stopSession('k')
    await lc.untilKind('k', 'exited')
    const sigs = lc.of('k').filter((e) => e.kind === 'signal').map((e) => [e.signal, e.why])
    if (WIN) {
      // The first step already ends the whole job: there is nothing left for a kill grace.
      expect(sigs).toEqual([['terminate-job', 'stop grace elapsed']])
      expect(lc.of('k').at(-1)).toMatchObject({ kind: 'exited', exitCode: 1, signal: null, reason: 'stop' })
      return
    }
    expect(sigs).toEqual([['SIGTERM', 'stop grace elapsed'], ['SIGKILL', 'kill grace elapsed']])
    expect(lc.of('k').at(-1)).toMatchObject({ kind: 'exited', signal: 'SIGKILL', reason: 'stop' })
  })

  it('a runner that exits by itself ends with reason "exit"; dispose reports stopping(dispose) and removed', async () => {
    const m = makeManager()
    const lc = events(m)
    m.startSession('e', 'claude', script({ steps: [started('e'), { exit: 3 }] }))
    m.startSession('d', 'claude', script({ ignoreStdinEnd: true, steps: [started('d')] }))
    await lc.untilKind('e', 'exited')
    expect(lc.of('e').at(-1)).toMatchObject({ kind: 'exited', exitCode: 3, reason: 'exit' })
    await lc.untilKind('d', 'ready')
    await m.dispose()
    expect(lc.kinds('d')).toEqual(['spawning', 'spawned', 'ready', 'stopping', 'exited', 'removed'])
    expect(lc.of('d').find((e) => e.kind === 'stopping').reason).toBe('dispose')
    expect(lc.kinds('e').at(-1)).toBe('removed')
    // Nothing is ever repeated.
    for (const id of ['d', 'e']) expect(new Set(lc.kinds(id)).size).toBe(lc.kinds(id).length)
  })

  it('a lifecycle callback that throws is reported and does not stop the others', async () => {
    const m = makeManager()
    const seen = []
    m.onLifecycle(() => {
      throw new Error('boom')
    })
    m.onLifecycle((e) => seen.push(e.kind))
    const errors = []
    const orig = console.error
    console.error = (...a) => errors.push(a.join(' '))
    try {
      m.startSession('t', 'claude', script({ steps: [started('t'), stopped('t'), { exit: 0 }] }))
      await untilExited(m, 't')
      await waitFor(() => seen.includes('exited'), 'exited seen')
    } finally {
      console.error = orig
    }
    expect(seen.slice(0, 3)).toEqual(['spawning', 'spawned', 'ready'])
    expect(errors.some((e) => e.includes('Lifecycle callback error for t'))).toBe(true)
  })

  it('a disposed subscription gets nothing; bad arguments throw', () => {
    const m = makeManager()
    const seen = []
    m.onLifecycle((e) => seen.push(e)).dispose()
    expect(() => m.onLifecycle('x')).toThrow(TypeError)
    expect(() => m.onLifecycle(3, () => {})).toThrow(TypeError)
    m.startSession('n', 'claude', script({ steps: [] }))
    return waitFor(() => m.getSession('n')?.pid > 0, 'spawned').then(() => expect(seen).toEqual([]))
  })
})

describe('lifecycle events of terminals', () => {
  const title = WIN
    ? 'spawning → spawned → stopping(stop) → signal terminate-job to the job → exited → removed'
    : 'spawning → spawned → stopping(stop) → signal SIGHUP to the session → exited → removed'
  it(title, async () => {
    const m = makeManager({ cleanupGraceMs: 200 })
    const lc = events(m)
    // Windows has no sh or sleep: an idling Node is the terminal's program there.
    const program = WIN ? { command: NODE, args: ['-e', 'setInterval(() => {}, 1e9)'] } : { command: '/bin/sh', args: ['-c', 'sleep 30'] }
    const t = m.openTerminal('t1', program)
    await lc.untilKind('t1', 'spawned')
    // kill() alone: close() would ask again, and a second request sends SIGHUP again.
    t.kill()
    await lc.untilKind('t1', 'removed')
    expect(lc.kinds('t1'), JSON.stringify(lc.of('t1'))).toEqual(['spawning', 'spawned', 'stopping', 'signal', 'exited', 'removed'])
    const [spawned, stopping, signal, exited] = lc.of('t1').slice(1)
    expect(spawned.pid).toBe(t.pid)
    expect(stopping.reason).toBe('stop')
    if (WIN) {
      expect(signal).toMatchObject({ ...TERMINATE_JOB, why: 'stop', source: 'terminal' })
      expect(exited).toMatchObject({ exitCode: 1, signal: null, reason: 'stop' })
      return
    }
    expect(signal).toMatchObject({ signal: 'SIGHUP', target: 'session', why: 'stop', source: 'terminal' })
    expect(exited).toMatchObject({ signal: 'SIGHUP', reason: 'stop' })
  })
})
