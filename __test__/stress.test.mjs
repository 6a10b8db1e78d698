// Load: a 500 MB flood to a slow callback (backpressure), and 200 concurrent sessions.
import { describe, it, expect } from 'vitest'
import { mkdtempSync, mkdirSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeManager, collect, waitFor, script, started, stopped, FIXTURES, WIN } from './helpers.mjs'

// Skipped on Windows: the stress runner is an sh script run by /bin/sh, and the test's point,
// descriptors and threads coming back, needs /proc or ps (Windows has handles and neither).
const UNIX_ONLY = WIN
import { rssMB, fdCount as fds, threadCount as threads } from './proc.mjs'

/** RSS outside the JS heap (the addon's buffers live there), in MB. */
const nativeMB = () => rssMB() - process.memoryUsage().heapTotal / 1048576
const busy = (ms) => {
  const end = performance.now() + ms
  while (performance.now() < end);
}

describe('backpressure', () => {
  it('500 MB flooded at a slow callback: every line in order, read-ahead and RSS bounded', async () => {
    const maxPendingBytes = 16 * 1024 * 1024
    const m = makeManager({ maxPendingBytes })
    const lineBytes = 64 * 1024
    const n = Math.ceil((500 * 1024 * 1024) / lineBytes)
    const rss0 = rssMB()
    const native0 = nativeMB()
    let peakRss = rss0
    let peakNative = native0
    let next = 0
    let outOfOrder = 0
    let deliveredBytes = 0
    let maxAhead = 0
    expect(m.startSession('f', 'claude', script({ steps: [started('f'), { flood: n, bytes: lineBytes, tag: 'f' }, stopped('f')] })).ok).toBe(true)
    m.onMessage('f', (_, msgs) => {
      for (const msg of msgs) {
        const seq = Number(msg.content.text.slice(2, msg.content.text.indexOf('|')))
        if (seq !== next) outOfOrder++
        next = seq + 1
        deliveredBytes += msg.content.text.length
      }
      // Bytes read from the pipe but not yet handed to JS stay near maxPendingBytes.
      maxAhead = Math.max(maxAhead, m.getSession('f').bytesIn - deliveredBytes)
      peakRss = Math.max(peakRss, rssMB())
      peakNative = Math.max(peakNative, nativeMB())
      busy(10) // a deliberately slow consumer
    })
    // Only count: keeping the messages would measure the test's memory, not the addon's.
    await new Promise((resolve) => m.onStatus('f', (_, status) => status === 'done' && resolve()))
    expect(next).toBe(n)
    expect(outOfOrder).toBe(0)
    // Read-ahead: the cap plus one read (256 KiB) and batches in flight (1 MiB each).
    expect(maxAhead).toBeLessThan(maxPendingBytes + 5 * 1024 * 1024)
    console.log(
      `flood: ${(deliveredBytes / 1048576).toFixed(0)} MB delivered, max read-ahead ${(maxAhead / 1048576).toFixed(1)} MB, ` +
        `RSS ${rss0.toFixed(0)} -> peak ${peakRss.toFixed(0)} MB, outside the JS heap ${native0.toFixed(0)} -> peak ${peakNative.toFixed(0)} MB`,
    )
    // Whole-process RSS includes the engine's uncollected garbage; on Node the part outside
    // the JS heap (the addon's buffers) must stay near the cap (Bun's heap figures omit strings).
    expect(peakRss - rss0).toBeLessThan(400)
    if (!process.versions.bun) expect(peakNative - native0).toBeLessThan((maxPendingBytes / 1048576) * 4 + 64)
  }, 180_000)

  it('multi-MiB texts the app drops do not pile up (400 MB in 2 MiB texts)', async () => {
    // On Node these become external strings whose bytes live outside the JS heap: the
    // garbage collector must be told about them or they would only be freed at exit.
    const m = makeManager()
    const lineBytes = 2 * 1024 * 1024
    const n = 200
    const rss0 = rssMB()
    let peakRss = rss0
    let received = 0
    let chars = 0
    expect(m.startSession('big', 'claude', script({ steps: [started('big'), { flood: n, bytes: lineBytes, tag: 'b' }, stopped('big')] })).ok).toBe(true)
    m.onMessage('big', (_, msgs) => {
      for (const msg of msgs) {
        received++
        chars += msg.content.text.length
      }
      peakRss = Math.max(peakRss, rssMB())
    })
    await new Promise((resolve) => m.onStatus('big', (_, status) => status === 'done' && resolve()))
    expect(received).toBe(n)
    expect(chars).toBeGreaterThan(n * (lineBytes - 1024))
    console.log(`2 MiB texts: ${received} received, RSS ${rss0.toFixed(0)} -> peak ${peakRss.toFixed(0)} MB`)
    expect(peakRss - rss0).toBeLessThan(250)
  }, 120_000)
})

describe('stress', () => {
  it.skipIf(UNIX_ONLY)('200 concurrent sessions × 2000 messages: all delivered to the right session in order; fds and threads return', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sidecar-stress-'))
    mkdirSync(join(root, 'sidecar', 'dist'), { recursive: true })
    copyFileSync(join(FIXTURES, 'stress-runner.sh'), join(root, 'sidecar', 'dist', 'stress-runner.mjs'))
    const m = makeManager({ runnerRoot: root, runtime: '/bin/sh' })
    // Warm up: the I/O runtime and the orphan watchdog exist from the first session on.
    expect(m.startSession('warm', 'stress', 'go').ok).toBe(true)
    const w = collect(m, 'warm')
    await w.until((r) => r.statuses.length === 2 && r.messages.length === 2000, 'warm-up')
    await waitFor(() => m.getSession('warm').exitCode !== null, 'warm-up exit')
    m.removeSession('warm')
    const fd0 = fds()
    const th0 = threads()

    const N = 200
    const ids = Array.from({ length: N }, (_, i) => `s${i}`)
    const got = new Map(ids.map((id) => [id, []]))
    let wrong = 0
    let done = 0
    const allDone = new Promise((resolve) => {
      for (const id of ids) {
        expect(m.startSession(id, 'stress', 'go').ok).toBe(true)
        m.onMessage(id, (sid, msgs) => {
          for (const msg of msgs) {
            const [who, seq] = msg.content.text.split('#')
            if (who !== sid || sid !== id) wrong++
            got.get(id).push(Number(seq))
          }
        })
        m.onStatus(id, (_, status) => {
          if (status === 'done' && got.get(id).length === 2000 && ++done === N) resolve()
        })
      }
    })
    await allDone
    expect(wrong).toBe(0)
    for (const id of ids) {
      const seqs = got.get(id)
      expect(seqs.length).toBe(2000)
      expect(seqs.every((s, i) => s === i)).toBe(true)
    }
    await waitFor(() => ids.every((id) => m.getSession(id).exitCode !== null), 'all exited', 30_000)
    for (const id of ids) m.removeSession(id)
    await waitFor(() => fds() <= fd0, `fds back to ${fd0} (now ${fds()})`, 10_000)
    await waitFor(() => threads() <= th0, `threads back to ${th0} (now ${threads()})`, 10_000)
    console.log(`stress: ${N} sessions x 2000 messages; fds ${fd0} -> ${fds()}, threads ${th0} -> ${threads()}`)
  }, 180_000)
})
