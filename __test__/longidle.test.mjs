import { describe, it, expect } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'

/** Threads of this process started by the addon (its I/O runtime names them sidecar-io). */
const addonThreads = () =>
  readdirSync('/proc/self/task').filter((t) => {
    try {
      return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').startsWith('sidecar-io')
    } catch {
      return false
    }
  }).length
import { makeManager, collect, recordedPids, isAlive, waitFor, script, started, stopped } from './helpers.mjs'

describe('a long-lived idle session', () => {
  // PR_SET_PDEATHSIG fires when the *thread* that forked the runner exits. Runners are forked
  // from the JS thread, never from a pool thread that tokio retires after 10 s idle: prove it
  // by idling past that keep-alive. The wait is the behaviour under test, not synchronisation.
  it("its runner is still alive after 11 s of idling, and the addon's thread count is steady", async () => {
    const m = makeManager()
    expect(m.startSession('idle', 'claude', script({ ignoreStdinEnd: true, steps: [started('idle'), stopped('idle')] })).ok).toBe(true)
    const c = collect(m, 'idle')
    await c.until((r) => r.statuses.length === 2, 'turn')
    await waitFor(() => recordedPids().length === 1, 'pid')
    const [pid] = recordedPids()
    const threads = addonThreads()
    expect(threads).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 11_000))
    expect(isAlive(pid)).toBe(true)
    expect(addonThreads()).toBe(threads)
    expect(m.writePrompt('idle', 'still there?').ok).toBe(true)
    await c.until((r) => r.statuses.length === 4, 'second turn')
  }, 30_000)
})
