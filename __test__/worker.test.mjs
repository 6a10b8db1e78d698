import { describe, it, expect } from 'vitest'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { recordedPids, isAlive, waitFor, sessionMembers, HERE, RUNNER_ROOT, FAKE_CLAUDE, NODE, WIN } from './helpers.mjs'

// Skipped on Windows: the worker's stubborn terminal is an sh script ignoring POSIX signals,
// and its processes are found by terminal session (/proc, ps), which Windows does not have.
const UNIX_ONLY = WIN

describe('worker threads', () => {
  it('terminating a worker ends its sessions, repeatedly, without crashing the host', async () => {
    for (let round = 0; round < 5; round++) {
      const earlier = new Set(recordedPids())
      const w = new Worker(join(HERE, 'fixtures', 'worker.mjs'), {
        workerData: { options: { runnerRoot: RUNNER_ROOT, claudePath: FAKE_CLAUDE, runtime: NODE } },
      })
      const running = new Promise((resolve, reject) => {
        w.on('message', (msg) => {
          if (msg.start && !msg.start.ok) reject(new Error(JSON.stringify(msg.start)))
          if (msg.status === 'running') resolve(msg.pid)
        })
        w.on('error', reject)
      })
      const pid = await running
      expect(pid).toBeGreaterThan(0)
      await waitFor(() => recordedPids().length === earlier.size + 2, 'runner and grandchild pids')
      const pids = recordedPids().filter((p) => !earlier.has(p))
      expect(pids.map((p) => [p, isAlive(p)])).toEqual(pids.map((p) => [p, true]))
      await w.terminate()
      await waitFor(() => pids.every((p) => !isAlive(p)), `round ${round}: runner and grandchild gone`, 5000)
    }
  })

  it.skipIf(UNIX_ONLY)('terminating a worker ends every process of its terminal sessions, repeatedly', async () => {
    for (let round = 0; round < 3; round++) {
      const w = new Worker(join(HERE, 'fixtures', 'worker.mjs'), {
        workerData: { options: { runnerRoot: RUNNER_ROOT, claudePath: FAKE_CLAUDE, runtime: NODE }, terminal: true },
      })
      const ids = await new Promise((resolve, reject) => {
        w.on('message', (msg) => msg.sid && resolve(msg))
        w.on('error', reject)
      })
      expect(sessionMembers(ids.sid)).toContain(ids.job)
      // The worker's session runner ends too; its pids are checked by the suite's teardown.
      await waitFor(() => recordedPids().length >= 2, 'runner pids recorded')
      await w.terminate()
      try {
        await waitFor(() => sessionMembers(ids.sid).length === 0, `round ${round}: terminal session gone`, 5000)
      } finally {
        for (const pid of sessionMembers(ids.sid)) process.kill(pid, 'SIGKILL')
      }
      const runners = recordedPids()
      await waitFor(() => runners.every((p) => !isAlive(p)), `round ${round}: runners gone`, 5000)
    }
  })

  it('a worker terminated while it receives multi-MiB texts (external strings) leaves the host fine', async () => {
    const lineBytes = 3 * 1024 * 1024
    for (let round = 0; round < 3; round++) {
      const earlier = new Set(recordedPids())
      const w = new Worker(join(HERE, 'fixtures', 'worker.mjs'), {
        workerData: { options: { runnerRoot: RUNNER_ROOT, claudePath: FAKE_CLAUDE, runtime: NODE }, flood: { n: 1000, bytes: lineBytes } },
      })
      const some = new Promise((resolve, reject) => {
        w.on('message', (msg) => {
          if (msg.start && !msg.start.ok) reject(new Error(JSON.stringify(msg.start)))
          if (msg.texts >= 5) resolve(msg)
        })
        w.on('error', reject)
      })
      const got = await some
      // Whole texts arrived inside the worker before it is cut off mid-flood.
      expect(got.chars).toBeGreaterThan(got.texts * (lineBytes - 1024))
      await waitFor(() => recordedPids().length === earlier.size + 2, 'runner and grandchild pids')
      const pids = recordedPids().filter((p) => !earlier.has(p))
      await w.terminate()
      await waitFor(() => pids.every((p) => !isAlive(p)), `round ${round}: runner and grandchild gone`, 5000)
    }
  }, 60_000)
})

