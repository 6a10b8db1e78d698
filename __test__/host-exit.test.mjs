import { describe, it, expect } from 'vitest'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { recordedPids, isAlive, waitFor, sessionMembers, HERE, NODE, WIN } from './helpers.mjs'

// Skipped on Windows: the stubborn terminal (fixtures/stubborn-terminal.mjs) is an sh script
// that ignores POSIX signals, and its processes are found by terminal session (/proc, ps);
// Windows has neither, and a terminal's processes are its Job Object's.
const UNIX_ONLY = WIN

// The host runs under the same runtime as the test (Node, or Bun for the Bun run).
const HOST_RUNTIME = process.execPath

/** Runs the host fixture; resolves with its printed events and exit code, or rejects after `ms`. */
function runHost(mode, ms = 15_000, onEvent = () => {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(HOST_RUNTIME, [join(HERE, 'fixtures', 'host.mjs'), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TEST_NODE: NODE },
    })
    const events = []
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const e = JSON.parse(buf.slice(0, i))
        buf = buf.slice(i + 1)
        events.push(e)
        onEvent(e, child)
      }
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`host "${mode}" did not exit within ${ms} ms; events: ${JSON.stringify(events)}`))
    }, ms)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, events, pid: child.pid })
    })
  })
}

describe('the host process and its runners', () => {
  it('a host with a manager and no session exits by itself', async () => {
    const r = await runHost('idle')
    expect(r.code).toBe(0)
    expect(r.events).toEqual([{ ready: true }])
  })

  it('a live runner keeps the host alive until its final status, then the host exits by itself', async () => {
    const r = await runHost('finish')
    expect(r.code).toBe(0)
    expect(r.events.filter((e) => e.status).map((e) => e.status)).toEqual(['running', 'done'])
  })

  it('the host exits by itself after stopSession', async () => {
    const r = await runHost('stop')
    expect(r.code).toBe(0)
    expect(r.events).toContainEqual({ stop: { ok: true } })
    expect(recordedPids().filter(isAlive)).toEqual([])
  })

  it('the host exits by itself after removeSession', async () => {
    const r = await runHost('remove')
    expect(r.code).toBe(0)
    expect(r.events).toContainEqual({ removed: true })
    await waitFor(() => recordedPids().every((p) => !isAlive(p)), 'runner gone')
  })

  it('process.exit() takes the runner and its grandchild with it', async () => {
    const r = await runHost('exit')
    expect(r.code).toBe(0)
    await waitFor(() => recordedPids().length === 2, 'pids recorded')
    await waitFor(() => recordedPids().every((p) => !isAlive(p)), 'runner and grandchild gone', 5000)
  })
})

describe('when the host dies abruptly', () => {
  for (const sig of ['SIGKILL', 'SIGTERM']) {
    it(`a host killed by ${sig} leaves no runner and no grandchild behind`, async () => {
      const r = await runHost('linger', 15_000, (e, child) => {
        if (e.pid) {
          waitFor(() => recordedPids().length === 2, 'pids recorded').then(() => child.kill(sig))
        }
      })
      expect(r.signal).toBe(sig)
      const pids = recordedPids()
      expect(pids.length).toBe(2)
      await waitFor(() => pids.every((p) => !isAlive(p)), 'runner and grandchild gone', 5000)
    })
  }
})

/** Waits for session `sid` to have no process left; kills survivors by pid and fails if any. */
async function sessionGone(sid) {
  try {
    await waitFor(() => sessionMembers(sid).length === 0, `terminal session ${sid} gone`, 5000)
  } catch (err) {
    for (const pid of sessionMembers(sid)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    throw err
  }
}

describe('the host process and its terminals', () => {
  // (host.mjs: on Windows the program is a Node that exits after 300 ms instead of sh.)
  it('an open terminal keeps the host alive until its program exits, then the host exits by itself', async () => {
    const r = await runHost('terminal-finish')
    expect(r.code).toBe(0)
    expect(r.events).toEqual([{ exit: { exitCode: 0, signal: null } }])
  })

  it.skipIf(UNIX_ONLY)('process.exit() ends every process of the terminal session, also those ignoring SIGHUP and SIGTERM', async () => {
    const r = await runHost('terminal-exit')
    expect(r.code).toBe(0)
    const { sid, job } = r.events.find((e) => e.sid)
    expect(sid).toBeGreaterThan(0)
    expect(job).toBeGreaterThan(0)
    await sessionGone(sid)
  })

  for (const sig of ['SIGKILL', 'SIGTERM']) {
    it.skipIf(UNIX_ONLY)(`a host killed by ${sig} leaves no process of its terminal sessions behind`, async () => {
      let ids = null
      const r = await runHost('terminal-linger', 15_000, (e, child) => {
        if (e.sid) {
          ids = e
          child.kill(sig)
        }
      })
      expect(r.signal).toBe(sig)
      expect(ids).not.toBe(null)
      await sessionGone(ids.sid)
    })
  }
})
