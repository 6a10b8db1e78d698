// Shared test helpers: manager construction with the fixture runners, event collection with
// awaitable conditions, and pid bookkeeping so every process a test starts is checked and
// killed by pid.
import { mkdtempSync, readdirSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { stateOf, IS_WINDOWS, removeFlatDir } from './proc.mjs'

const require = createRequire(import.meta.url)
export const { SidecarManager } = require('../index.js')

export const HERE = dirname(fileURLToPath(import.meta.url))
export const FIXTURES = join(HERE, 'fixtures')
export const RUNNER_ROOT = join(FIXTURES, 'root')
export const FAKE_CLAUDE = join(FIXTURES, 'fake-claude')
/** Node to run the fixture runners with (under Bun, process.execPath is bun). */
export const NODE = process.env.TEST_NODE || (process.versions.bun ? 'node' : process.execPath)
/** Windows: no POSIX signals, process groups, sessions, /proc or sh (tests skip or adapt by it). */
export const WIN = IS_WINDOWS
/**
 * Windows under Wine (scripts/wine/env.sh exports WINEPREFIX, and Wine hands the Unix
 * environment to Windows programs): for the few Wine 8 gaps a test has to step around, each
 * named where it is used.
 */
export const UNDER_WINE = IS_WINDOWS && Boolean(process.env.WINEPREFIX)

const managers = new Set()
let pidDir = null

/** A fresh pid folder for this test; runners record their pids there. */
export function setupPids() {
  pidDir = mkdtempSync(join(tmpdir(), 'sidecar-pids-'))
  process.env.FAKE_PID_DIR = pidDir
  return pidDir
}

/** Every pid recorded by runners of this test (runners and grandchildren). */
export function recordedPids() {
  if (!pidDir) return []
  const pids = []
  for (const f of readdirSync(pidDir)) {
    try {
      const rec = JSON.parse(readFileSync(join(pidDir, f), 'utf8'))
      if (rec.runner) pids.push(rec.runner)
      if (rec.grandchild) pids.push(rec.grandchild)
      if (Array.isArray(rec.children)) pids.push(...rec.children)
    } catch {}
  }
  return pids
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return e.code === 'EPERM'
  }
  // Windows has no zombies: signal 0 (OpenProcess + exit code still active) is the whole answer.
  if (IS_WINDOWS) return true
  // A zombie still answers signal 0: count it as dead (it is no longer running).
  const state = stateOf(pid)
  return state !== null && state !== 'Z'
}

/** Live processes of session `sid` (by session id, not process group: a terminal's jobs). */
export { sessionMembers } from './proc.mjs'

/**
 * How long a recorded process may still take to go after `dispose()`. dispose() resolves once
 * every runner has exited; whatever else is left in a runner's group gets SIGTERM at that
 * moment and SIGKILL `killGraceMs` (300 here) later, in the background (README: `dispose()`;
 * src/agent/session.rs, release_group). A process signalled a moment ago may still be exiting:
 * the 100 MB hog of resources.test.mjs takes a few ms to, ~3–17 ms on Node 24 against ~0–6 ms
 * on Node 20, long enough to be seen alive right after dispose() on Node 24.
 */
const EXIT_GRACE_MS = 2_000

/** Disposes every manager made by `makeManager`, then kills (by pid) and reports survivors. */
export async function teardown() {
  for (const m of managers) {
    await m.dispose()
  }
  managers.clear()
  let survivors = recordedPids().filter(isAlive)
  const end = Date.now() + EXIT_GRACE_MS
  while (survivors.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20))
    survivors = survivors.filter(isAlive)
  }
  for (const pid of survivors) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  // Windows' run-wide orphan check (global-setup.mjs) goes by pid: these runners' records
  // were just checked, so move them aside; only records no test checked are looked at
  // again at the end, when Wine has long reused their pids.
  const runDir = process.env.SIDECAR_TEST_RUN_PIDS
  if (pidDir && runDir) {
    for (const f of readdirSync(pidDir)) {
      try {
        renameSync(join(runDir, f), join(`${runDir}.checked`, f))
      } catch {}
    }
  }
  if (pidDir) removeFlatDir(pidDir)
  pidDir = null
  delete process.env.FAKE_PID_DIR
  return survivors
}

export function makeManager(opts = {}) {
  const m = new SidecarManager({
    runnerRoot: RUNNER_ROOT,
    claudePath: FAKE_CLAUDE,
    runtime: NODE,
    stopGraceMs: 300,
    killGraceMs: 300,
    ...opts,
  })
  managers.add(m)
  return m
}

/** Collects a session's messages and statuses; `until(pred)` resolves when pred holds. */
export function collect(m, id) {
  const rec = { messages: [], statuses: [], calls: 0, waiters: [] }
  const check = () => {
    rec.waiters = rec.waiters.filter((w) => {
      if (w.pred(rec)) {
        w.resolve(rec)
        return false
      }
      return true
    })
  }
  m.onMessage(id, (sid, msgs) => {
    if (sid !== id) throw new Error(`message for ${sid} delivered to ${id}`)
    rec.calls++
    rec.messages.push(...msgs)
    check()
  })
  m.onStatus(id, (sid, status, error) => {
    rec.statuses.push(error === undefined ? [status] : [status, error])
    check()
  })
  rec.until = (pred, what = 'condition', ms = 10_000) =>
    new Promise((resolve, reject) => {
      if (pred(rec)) return resolve(rec)
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify({ statuses: rec.statuses, messages: rec.messages.length })}`)), ms)
      rec.waiters.push({ pred, resolve: (v) => (clearTimeout(t), resolve(v)) })
    })
  rec.untilStatus = (status, ms) => rec.until((r) => r.statuses.some((s) => s[0] === status), `status ${status}`, ms)
  return rec
}

/** Resolves when `fn()` is truthy (polling; for process state, which has no event). */
export async function waitFor(fn, what, ms = 10_000, every = 20) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, every))
  }
}

/** The script prompt for the fake runner. */
export const script = (cfg) => JSON.stringify(cfg)
export const started = (sid) => ({ out: { type: 'agent_started', sessionId: sid } })
export const stopped = (sid) => ({ out: { type: 'agent_stopped', sessionId: sid } })
export const ev = (event) => ({ out: { type: 'agent_event', event } })

/** Resolves when the session's runner has exited (exit code or signal known). */
export function untilExited(m, id, ms = 10_000) {
  return waitFor(() => {
    const s = m.getSession(id)
    return s && (s.exitCode !== null || s.signal !== null) ? s : null
  }, `exit of ${id}`, ms)
}
