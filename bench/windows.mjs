// Windows timings, medians of 3 (issue 16's closing figures). Run under Windows Node, e.g. in
// Wine: source scripts/wine/env.sh && bash scripts/wine/run.sh "$WIN_NODE" bench/windows.mjs
//   start   startSession → lifecycle `ready` (its sinceStartMs): spawn suspended, job, resume,
//           node.exe start, runner's {"type":"ready"}
//   floor   the same runner started by Node's own child_process.spawn, to its ready line
//   stop    stopSession → `exited` for a runner that ignores the stop line (stopGraceMs 50):
//           the grace, TerminateJobObject, exit delivered
//   host    TerminateProcess of a host with 2 sessions (runner + detached grandchild each) →
//           every one of those 4 pids gone (kill-on-close of the host's job handles)
// Uses the Windows test fixtures (__test__/fixtures/win).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, unlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const { SidecarManager } = createRequire(import.meta.url)('../index.js')
const WIN = join(dirname(fileURLToPath(import.meta.url)), '..', '__test__', 'fixtures', 'win')
const RUNS = 3
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const manager = (opts) => new SidecarManager({ runnerRoot: join(WIN, 'root'), claudePath: join(WIN, 'runner.mjs'), runtime: process.execPath, ...opts })
const lifecycle = (m, id, kind) => new Promise((resolve) => m.onLifecycle(id, (e) => e.kind === kind && resolve(e)))

async function start() {
  const m = manager()
  const ready = lifecycle(m, 's', 'ready')
  m.startSession('s', 'claude', 'hi')
  const ms = (await ready).sinceStartMs
  await m.dispose()
  return ms
}

/** The floor for `start`: Node's own child_process.spawn of the same runner to its ready line. */
async function floor() {
  const t0 = performance.now()
  const c = spawn(process.execPath, [join(WIN, 'runner.mjs')], { stdio: ['pipe', 'pipe', 'ignore'], windowsHide: true })
  let seen = ''
  await new Promise((resolve, reject) => {
    c.stdout.on('data', (d) => {
      seen += d
      if (seen.includes('"ready"')) resolve()
    })
    c.on('exit', () => reject(new Error(`runner exited before ready: ${seen}`)))
  })
  const ms = performance.now() - t0
  const exited = once(c, 'exit')
  c.kill()
  await exited
  return ms
}

async function stop() {
  const m = manager({ stopGraceMs: 50, killGraceMs: 50 })
  const done = new Promise((resolve) => {
    m.startSession('s', 'claude', JSON.stringify({ ignoreStop: true }))
    m.onStatus('s', (_, status) => status === 'done' && resolve())
  })
  await done
  const exited = lifecycle(m, 's', 'exited')
  const t0 = performance.now()
  m.stopSession('s')
  await exited
  const ms = performance.now() - t0
  await m.dispose()
  return ms
}

async function host() {
  const out = join(mkdtempSync(join(tmpdir(), 'sidecar-bench-')), 'pids.json')
  const h = spawn(process.execPath, [join(WIN, 'host.mjs'), out, process.execPath], { stdio: 'ignore', windowsHide: true })
  const end = Date.now() + 30_000
  while (!existsSync(out)) {
    if (Date.now() > end) throw new Error('host wrote no pids')
    await sleep(10)
  }
  const { pids } = JSON.parse(readFileSync(out, 'utf8'))
  const t0 = performance.now()
  h.kill()
  await once(h, 'exit')
  while (pids.some(alive)) {
    if (performance.now() - t0 > 10_000) throw new Error(`alive 10 s after host death: ${pids.filter(alive)}`)
    await sleep(1)
  }
  unlinkSync(out)
  return performance.now() - t0
}

const rows = []
for (const [name, fn] of [['startSession → ready', start], ['floor: child_process.spawn → ready', floor], ['stop() → exited (stopGraceMs 50)', stop], ['host death → 4 pids gone', host]]) {
  const runs = []
  for (let i = 0; i < RUNS; i++) runs.push(await fn())
  rows.push(`${name.padEnd(34)} median ${median(runs).toFixed(1).padStart(7)} ms   runs ${runs.map((x) => x.toFixed(1)).join(', ')}`)
}
console.log(`${process.release.name} ${process.version} on ${process.platform} (${process.arch})\n${rows.join('\n')}`)
