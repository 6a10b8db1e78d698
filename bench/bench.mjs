#!/usr/bin/env node
// The project's own benchmark: drives the package through its public API only
// (`require('../index.js').SidecarManager`) with bench/flood-runner.mjs as the runner.
//
//   node bench/bench.mjs                       all scenarios, one table per kind
//   node_modules/.bin/bun bench/bench.mjs      the same under Bun
//   node bench/bench.mjs --scenario small,stop --runs 3 --json --timeout 60
//
// Every scenario runs in a fresh child process of the same runtime (this script with
// --child), so memory, thread and event-loop figures of one scenario cannot leak into the
// next. The parent gives each child a temporary folder (pid files, a dummy `claude`), bounds
// it in time, sweeps any runner left behind by pid, and prints the results.
// See bench/README.md for what every figure means.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)
const HERE = path.dirname(SELF)
const PACKAGE = path.dirname(HERE)
const RUNNER_ROOT = path.join(HERE, 'root') // holds sidecar/dist/claude-runner.mjs
const IS_BUN = typeof globalThis.Bun !== 'undefined'
const RUNTIME = IS_BUN ? `bun ${globalThis.Bun.version}` : `node ${process.versions.node}`
const KiB = 1024
const MiB = 1024 * KiB
const MB = 1e6 // throughput and memory figures are decimal megabytes

const SCENARIOS = {
  small: { kind: 'flood', about: '1 session, 200 000 events x 300 B', sessions: 1, n: 200_000, bytes: 300 },
  large: { kind: 'flood', about: '1 session, 2 000 events x 64 KiB', sessions: 1, n: 2_000, bytes: 64 * KiB },
  bigline: { kind: 'flood', about: '1 session, 3 lines x 8 MiB', sessions: 1, n: 3, bytes: 8 * MiB },
  fanout: { kind: 'flood', about: '50 sessions x 4 000 events x 300 B', sessions: 50, n: 4_000, bytes: 300 },
  spawn: { kind: 'spawn', about: '30 sessions started one after another', count: 30 },
  stop: { kind: 'stop', about: '20 sessions ignoring stop + SIGTERM, with a grandchild', count: 20 },
  idle: { kind: 'idle', about: '100 idle sessions', count: 100 },
  // 200 sessions whose runner keeps 4 `sleep` children: 1 000 processes for the resource
  // sampler, at the manager's default resourceSampleMs (2000), watched for windowMs.
  sampling: { kind: 'sampling', about: '200 sessions x 5 processes, resourceSampleMs 2000, 20 s', count: 200, children: 4, windowMs: 20_000, manager: { resourceSampleMs: 2000 } },
  // The same with the sampler off: the host CPU it leaves behind, for comparison (not in the default set).
  'sampling-off': { kind: 'sampling', about: 'as sampling, resourceSampleMs 0', count: 200, children: 4, windowMs: 20_000, manager: { resourceSampleMs: 0 }, extra: true },
}
const DEFAULT_SCENARIOS = Object.keys(SCENARIOS).filter((name) => !SCENARIOS[name].extra)

// The resource sampler's budget (issue 11): sampling 200 sessions x 5 processes every 2 s
// costs under 1 % of one core.
const SAMPLER_BUDGET_PCT = 1

// Correctness counters are combined across runs with max (one bad run must show);
// everything else numeric with the median.
const WORST_OF = new Set(['lost', 'outOfOrder', 'leaked', 'sweptAfterExit', 'runnersAlive', 'grandchildrenAlive', 'runnersDied', 'readyMissing', 'notUp'])

const now = () => performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const round = (x, digits = 1) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(digits)) : x)

// ─── command line ────────────────────────────────────────────────────────────

const USAGE = `usage: bench.mjs [--scenario LIST|all] [--runs N] [--json] [--timeout S]
  --scenario LIST  comma-separated: ${Object.keys(SCENARIOS).join(', ')}, terminal, or all
                   (default: all but ${Object.keys(SCENARIOS).filter((n) => SCENARIOS[n].extra).join(', ')})
                   terminal = the terminal scenarios of bench/terminal.mjs, against its peers
  --runs N         run every scenario N times and report medians (default 1)
  --json           one JSON line per scenario on stdout (the tables go to stderr)
  --timeout S      time limit per scenario in seconds (default 60)
  --scale F        multiply event and session counts by F (e.g. 0.05 for a quick smoke run)
  --runner-nice N  the manager's runnerNice option, 0-19 (default: the manager's default, 10)`

function parseArgs(argv) {
  const args = { scenarios: DEFAULT_SCENARIOS, terminal: true, runs: 1, json: false, timeout: 60, scale: 1 }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = () => (i + 1 < argv.length ? argv[++i] : fail(`${flag} needs a value`))
    if (flag === '--scenario') {
      const list = value()
      args.terminal = list === 'all' || list.split(',').includes('terminal')
      args.scenarios = parseScenarios(list.split(',').filter((s) => s !== 'terminal').join(',') || 'none')
    }
    else if (flag === '--runs') args.runs = positiveInt(flag, value())
    else if (flag === '--timeout') args.timeout = positiveInt(flag, value())
    else if (flag === '--scale') args.scale = positiveNumber(flag, value())
    else if (flag === '--runner-nice') args.runnerNice = niceValue(flag, value())
    else if (flag === '--json') args.json = true
    else if (flag === '--child') args.child = value()
    else if (flag === '--tmp') args.tmp = value()
    else if (flag === '-h' || flag === '--help') fail(USAGE, 0)
    else fail(`unknown argument ${flag}\n${USAGE}`)
  }
  return args
}

function parseScenarios(list) {
  if (list === 'all') return Object.keys(SCENARIOS)
  if (list === 'none') return []
  const names = list.split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of names) if (!SCENARIOS[name]) fail(`unknown scenario ${name}\n${USAGE}`)
  return names
}

function positiveInt(flag, text) {
  const n = Number(text)
  return Number.isInteger(n) && n > 0 ? n : fail(`${flag} must be a positive integer`)
}

function niceValue(flag, text) {
  const n = Number(text)
  return Number.isInteger(n) && n >= 0 && n <= 19 ? n : fail(`${flag} must be a whole number from 0 to 19`)
}

function positiveNumber(flag, text) {
  const x = Number(text)
  return x > 0 && Number.isFinite(x) ? x : fail(`${flag} must be a positive number`)
}

/** The scenario with its counts scaled (never below 1); sizes are never scaled. */
function scaled(spec, factor) {
  const out = { ...spec }
  for (const key of ['sessions', 'n', 'count']) if (out[key]) out[key] = Math.max(1, Math.round(out[key] * factor))
  return out
}

function fail(message, code = 2) {
  process.stderr.write(message + '\n')
  process.exit(code)
}

// ─── statistics ──────────────────────────────────────────────────────────────

function percentile(values, q) {
  if (!values.length) return null
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

const median = (values) => percentile(values, 0.5)

// ─── processes (Linux /proc) ─────────────────────────────────────────────────

/** Alive and not a zombie. A zombie has exited; only its parent has not reaped it yet. */
function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** True when pid still is one of this run's processes (the pid may have been reused). */
function isOurs(pid, pidDir) {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`BENCH_PID_DIR=${pidDir}\0`)
  } catch {
    return false
  }
}

/** The runner and grandchild pids the runners reported: [{ kind, pid, parent }]. */
function reportedPids(pidDir) {
  let names = []
  try {
    names = fs.readdirSync(pidDir)
  } catch {
    return []
  }
  return names.map((name) => {
    const [kind, pid] = name.split('-')
    const parent = kind === 'grandchild' ? Number(fs.readFileSync(path.join(pidDir, name), 'utf8')) : null
    return { kind, pid: Number(pid), parent }
  })
}

/** Our reported processes still alive. */
function survivors(pidDir) {
  return reportedPids(pidDir).filter((p) => isAlive(p.pid) && isOurs(p.pid, pidDir))
}

/** Kills each survivor by pid (never by name) and returns how many there were. */
function killSurvivors(pidDir) {
  const alive = survivors(pidDir)
  for (const p of alive) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
  return alive.length
}

const countDir = (dir) => fs.readdirSync(dir).length
const rssBytes = () => process.memoryUsage.rss?.() ?? process.memoryUsage().rss
const peakRssMB = () => (process.resourceUsage().maxRSS * KiB) / MB // maxRSS is in KiB
const cpuMs = (since) => {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

function collectGarbage() {
  if (IS_BUN) globalThis.Bun.gc(true)
  else globalThis.gc?.()
}

// ─── the parent ──────────────────────────────────────────────────────────────

async function parent(args) {
  ensureAddon()
  const started = now()
  const rows = []
  for (const name of args.scenarios) {
    const runs = []
    for (let run = 1; run <= args.runs; run++) {
      process.stderr.write(`bench: ${name} run ${run}/${args.runs} … `)
      const t0 = now()
      const result = await runChild(name, args)
      process.stderr.write(`${result.status} in ${((now() - t0) / 1000).toFixed(1)} s\n`)
      runs.push(result)
    }
    const row = combine(name, runs)
    rows.push(row)
    if (args.json) process.stdout.write(JSON.stringify(row) + '\n')
  }
  const totalS = (now() - started) / 1000
  const print = (text) => (args.json ? process.stderr : process.stdout).write(text + '\n')
  if (rows.length) print(render(rows, args, totalS))
  if (args.terminal) await terminalBench(args)
}

/** The terminal scenarios (bench/terminal.mjs) with the same --runs and --json. */
function terminalBench(args) {
  const extra = ['--runs', String(args.runs), ...(args.json ? ['--json'] : [])]
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [path.join(HERE, 'terminal.mjs'), ...extra], { stdio: 'inherit' })
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/terminal.mjs exited with ${code}`))))
  })
}

function ensureAddon() {
  const addon = fs.readdirSync(PACKAGE).find((f) => f.endsWith('.node'))
  if (!addon) fail('bench: no built addon in the package root; run `npm run build` first')
}

/** Runs one scenario in a fresh process and returns its result, whatever happens to it. */
async function runChild(name, { timeout: timeoutS, scale, runnerNice }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-bench-'))
  const pidDir = path.join(tmp, 'pids')
  fs.mkdirSync(pidDir)
  const resultFile = path.join(tmp, 'result.json')
  // Node needs --expose-gc for the idle figures; Bun has Bun.gc.
  const flags = IS_BUN ? [] : ['--expose-gc']
  const nice = runnerNice === undefined ? [] : ['--runner-nice', String(runnerNice)]
  const child = spawn(process.execPath, [...flags, SELF, '--child', name, '--tmp', tmp, '--timeout', String(timeoutS), '--scale', String(scale), ...nice], {
    // Set before the child starts: the manager hands the host's environment to runners.
    env: { ...process.env, BENCH_PID_DIR: pidDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const stderr = captureTail(child.stderr, 16 * KiB)
  // The child bounds its own waits; this only catches a child that hangs outright
  // (teardown of stubborn runners may legitimately take stop + kill grace).
  let hung = false
  const killer = setTimeout(() => {
    hung = true
    child.kill('SIGKILL')
  }, (timeoutS + 30) * 1000)
  const exit = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  clearTimeout(killer)
  // Let the last stderr arrive, but don't wait on a descendant that might hold the pipe.
  if (!child.stderr.destroyed) await Promise.race([new Promise((resolve) => child.stderr.once('close', resolve)), sleep(1000)])
  const result = readResult(resultFile) ?? { status: hung ? 'hung' : 'crashed', exitCode: exit.code, signal: exit.signal }
  result.sweptAfterExit = killSurvivors(pidDir) // anything the child's teardown missed
  const log = stderr().trim()
  if (log) result.stderr = log.split('\n').slice(-5).join('\n')
  fs.rmSync(tmp, { recursive: true, force: true })
  return result
}

function captureTail(stream, limit) {
  let text = ''
  stream.setEncoding('utf8')
  stream.on('data', (d) => {
    text = (text + d).slice(-limit)
  })
  return () => text
}

function readResult(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}

/** One row per scenario: medians of numeric figures, worst of the correctness counters. */
function combine(name, runs) {
  const row = { scenario: name, runtime: RUNTIME, runs: runs.length }
  const bad = runs.find((r) => r.status !== 'ok')
  row.status = bad ? bad.status : 'ok'
  const keys = new Set(runs.flatMap((r) => Object.keys(r)))
  for (const key of keys) {
    if (key === 'status') continue
    const values = runs.map((r) => r[key]).filter((v) => v !== undefined && v !== null)
    if (!values.length) continue
    if (values.every((v) => typeof v === 'number')) {
      row[key] = WORST_OF.has(key) ? Math.max(...values) : round(median(values), 2)
    } else {
      const same = values.every((v) => JSON.stringify(v) === JSON.stringify(values[0]))
      row[key] = same ? values[0] : values
    }
  }
  // The verdict follows the combined (median) figure, not a list of the runs' verdicts.
  if (typeof row.samplerPctOfCore === 'number') row.budget = row.samplerPctOfCore < SAMPLER_BUDGET_PCT ? 'PASS' : 'FAIL'
  if (runs.length > 1) row.perRun = runs
  return row
}

// ─── tables ──────────────────────────────────────────────────────────────────

const COLUMNS = {
  flood: [
    ['scenario', 'scenario'],
    ['status', 'status'],
    ['msgs/s', 'msgsPerSec', 0],
    ['MB/s', 'MBps', 1],
    ['lat p50 ms', 'latencyP50Ms', 1],
    ['lat p99 ms', 'latencyP99Ms', 1],
    ['lost', 'lost'],
    ['ooo', 'outOfOrder'],
    ['busy %', 'busyPct', 1],
    ['lag max ms', 'lagMaxMs', 1],
    ['peak RSS MB', 'peakRssMB', 1],
    ['CPU ms', 'hostCpuMs', 0],
    ['stream ms', 'streamMs', 0],
    ['leaked', 'leaked'],
  ],
  spawn: [
    ['scenario', 'scenario'],
    ['status', 'status'],
    ['call p50 ms', 'callP50Ms', 2],
    ['call max ms', 'callMaxMs', 2],
    ['1st cb p50 ms', 'firstCallbackP50Ms', 1],
    ['1st cb p95 ms', 'firstCallbackP95Ms', 1],
    ['1st msg p50 ms', 'firstMessageP50Ms', 1],
    ['ready p50 ms', 'readyMsP50', 1],
    ['ready p95 ms', 'readyMsP95', 1],
    ['ready max ms', 'readyMsMax', 1],
    ['leaked', 'leaked'],
  ],
  stop: [
    ['scenario', 'scenario'],
    ['status', 'status'],
    ['final p50 ms', 'finalStatusP50Ms', 0],
    ['final max ms', 'finalStatusMaxMs', 0],
    ['final status', 'finalStatuses'],
    ['exit p50 ms', 'exitP50Ms', 0],
    ['exit max ms', 'exitMaxMs', 0],
    ['runners alive', 'runnersAlive'],
    ['grandch. alive', 'grandchildrenAlive'],
    ['leaked', 'leaked'],
  ],
  idle: [
    ['scenario', 'scenario'],
    ['status', 'status'],
    ['RSS/sess KB', 'rssPerSessionKB', 1],
    ['fds/sess', 'fdsPerSession', 2],
    ['threads', 'threads'],
    ['CPU ms/3 s', 'idleCpuMs', 1],
    ['all idle ms', 'allIdleMs', 0],
    ['RSS MB', 'rssMB'],
    ['leaked', 'leaked'],
  ],
  sampling: [
    ['scenario', 'scenario'],
    ['status', 'status'],
    ['interval ms', 'intervalMs'],
    ['procs found', 'processesFound'],
    ['procs started', 'processesStarted'],
    ['ticks', 'ticks'],
    ['tick p50 ms', 'tickMsP50', 2],
    ['tick max ms', 'tickMsMax', 2],
    ['sampler % core', 'samplerPctOfCore', 3],
    ['budget <1 %', 'budget'],
    ['host CPU ms', 'hostCpuMs', 0],
    ['host % core', 'hostPctOfCore', 2],
    ['window ms', 'windowMs', 0],
    ['leaked', 'leaked'],
  ],
}

function render(rows, args, totalS) {
  const scale = args.scale === 1 ? '' : `, scale ${args.scale}`
  const lines = [`SidecarManager bench — ${RUNTIME}, ${os.cpus().length} cores, runs ${args.runs}${scale}, ${new Date().toISOString()}`]
  for (const kind of Object.keys(COLUMNS)) {
    const mine = rows.filter((r) => SCENARIOS[r.scenario].kind === kind)
    if (mine.length) lines.push('', table(COLUMNS[kind], mine))
  }
  const notes = rows.flatMap(rowNotes)
  if (notes.length) lines.push('', ...notes)
  lines.push('', `total ${totalS.toFixed(1)} s`)
  return lines.join('\n')
}

function table(columns, rows) {
  const cells = rows.map((row) => columns.map(([, key, digits]) => cell(row[key], digits)))
  const heads = columns.map(([head]) => head)
  const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const fmt = (values) => values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')
  return [fmt(heads), fmt(widths.map((w) => '-'.repeat(w))), ...cells.map(fmt)].join('\n')
}

function cell(value, digits) {
  if (value === undefined || value === null) return '-'
  if (typeof value === 'number') return digits === undefined ? String(value) : value.toFixed(digits)
  if (Array.isArray(value)) return value.join('|')
  return String(value)
}

function rowNotes(row) {
  const notes = []
  if (row.error) notes.push(`${row.scenario}: ${row.status}: ${row.error}`)
  if (row.disposeError) notes.push(`${row.scenario}: dispose() failed: ${row.disposeError}`)
  if (row.lost || row.outOfOrder) notes.push(`${row.scenario}: ${row.lost} lost and ${row.outOfOrder} out-of-order message(s); both must be 0`)
  if (row.runnersAlive || row.grandchildrenAlive) {
    notes.push(`${row.scenario}: ${row.runnersAlive} runner(s) and ${row.grandchildrenAlive} grandchild(ren) alive 1 s after the final status (runner exit: ${cell(row.exitKinds)} at p50 ${cell(row.exitP50Ms)} ms)`)
  }
  if (row.runnersDied) notes.push(`${row.scenario}: ${row.runnersDied} runner(s) ended while they should idle`)
  if (row.readyMissing) notes.push(`${row.scenario}: ${row.readyMissing} session(s) without a \`ready\` lifecycle event`)
  if (row.notUp) notes.push(`${row.scenario}: ${row.notUp} session(s) never sent their first message`)
  if (row.budget) {
    notes.push(`${row.scenario}: sampler ${cell(row.samplerCpuMs, 1)} ms CPU in ${cell(row.windowMs, 0)} ms = ${cell(row.samplerPctOfCore, 3)} % of one core for ${cell(row.processesFound)} processes every ${row.intervalMs} ms: ${row.budget} (budget ${SAMPLER_BUDGET_PCT} %)`)
  }
  if (row.leaked) notes.push(`${row.scenario}: ${row.leaked} runner/grandchild process(es) survived teardown (killed by pid)`)
  if (row.sweptAfterExit) notes.push(`${row.scenario}: ${row.sweptAfterExit} process(es) still alive after the scenario process exited (killed by pid)`)
  if (row.stderr) notes.push(`${row.scenario}: stderr of the scenario process:\n  ${String(row.stderr).split('\n').join('\n  ')}`)
  return notes
}

// ─── the child: one scenario ─────────────────────────────────────────────────

async function child(args) {
  const require = createRequire(import.meta.url)
  const { SidecarManager } = require('../index.js')
  const spec = scaled(SCENARIOS[args.child], args.scale)
  const claudePath = makeDummyClaude(args.tmp)
  const ctx = {
    spec,
    pidDir: process.env.BENCH_PID_DIR,
    cwd: args.tmp,
    deadline: now() + args.timeout * 1000,
    timedOut: false,
    ids: [],
    manager: new SidecarManager({
      runnerRoot: RUNNER_ROOT,
      runtime: 'node', // the runner is plain Node whatever runs the bench
      claudePath, // provider "claude" is refused without an existing CLI
      stopGraceMs: 3000,
      killGraceMs: 2000,
      ...(args.runnerNice === undefined ? {} : { runnerNice: args.runnerNice }),
      ...spec.manager, // e.g. the sampling scenarios' resourceSampleMs
    }),
  }
  let result
  try {
    result = await KINDS[spec.kind](ctx)
    result.status = ctx.timedOut ? 'timeout' : 'ok'
  } catch (err) {
    result = { status: 'error', error: String(err?.stack ?? err) }
  }
  Object.assign(result, await teardown(ctx))
  fs.writeFileSync(path.join(args.tmp, 'result.json'), JSON.stringify(result))
  process.exit(0)
}

function makeDummyClaude(tmp) {
  const file = path.join(tmp, 'claude')
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 })
  return file
}

/** Waits for promise until the scenario's deadline; false (and ctx.timedOut) on timeout. */
async function until(ctx, promise) {
  let timer
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ctx.deadline - now()))
  })
  const ok = await Promise.race([promise.then(() => true), timeout])
  clearTimeout(timer)
  if (!ok) ctx.timedOut = true
  return ok
}

/** A promise resolved after count() has been called n times. */
function countdown(n) {
  let left = n
  let resolve
  const promise = new Promise((r) => (resolve = r))
  if (left <= 0) resolve()
  return {
    promise,
    count() {
      if (--left === 0) resolve()
    },
  }
}

function start(ctx, id, config) {
  const r = ctx.manager.startSession(id, 'claude', JSON.stringify(config), { cwd: ctx.cwd })
  if (!r.ok) throw new Error(`startSession(${id}) failed: ${r.code} ${r.error}`)
  ctx.ids.push(id)
}

/** removeSession for each session, then dispose(); then no reported pid may survive. */
async function teardown(ctx) {
  const out = {}
  const t0 = now()
  try {
    for (const id of ctx.ids) ctx.manager.removeSession(id)
    let timer
    const bound = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('dispose() did not settle within 15 s')), 15_000)
    })
    await Promise.race([ctx.manager.dispose(), bound]).finally(() => clearTimeout(timer))
  } catch (err) {
    out.disposeError = String(err?.message ?? err)
  }
  out.disposeMs = round(now() - t0)
  // dispose() resolves once the runners exited; their group's leftovers get SIGTERM at that
  // moment and need a few ms to go. Anything alive 1 s later is a leak.
  const settle = now() + 1000
  while (survivors(ctx.pidDir).length && now() < settle) await sleep(25)
  out.leaked = killSurvivors(ctx.pidDir)
  return out
}

// ─── event-loop sampler ──────────────────────────────────────────────────────

/**
 * A 1 ms interval that records how late each tick fires: lateness accumulates while the JS
 * thread is busy. An idle loop reads ~10 % because timers have 1 ms granularity
 * (busyFloorPct measures it in each run).
 */
function loopSampler() {
  let prev = now()
  let late = 0
  let max = 0
  const timer = setInterval(() => {
    const t = now()
    const l = Math.max(0, t - prev - 1)
    late += l
    if (l > max) max = l
    prev = t
  }, 1)
  // The time since the last tick counts too, so a loop that never yields still shows.
  const pending = () => Math.max(0, now() - prev - 1)
  return {
    mark() {
      max = 0
      return { t: now(), late: late + pending() }
    },
    since(mark) {
      const p = pending()
      return { busyPct: (100 * (late + p - mark.late)) / (now() - mark.t), lagMaxMs: Math.max(max, p) }
    },
    stop: () => clearInterval(timer),
  }
}

async function busyFloor() {
  const sampler = loopSampler()
  const mark = sampler.mark()
  await sleep(250)
  const { busyPct } = sampler.since(mark)
  sampler.stop()
  return busyPct
}

// ─── scenario kinds ──────────────────────────────────────────────────────────

const KINDS = { flood, spawn: spawnLatency, stop: stopEscalation, idle, sampling }

/**
 * Flood: every runner pre-generates its events, says "gate", and streams only when all
 * sessions are gated and told to go, so the timed window is pure delivery.
 */
async function flood(ctx) {
  const { sessions, n, bytes } = ctx.spec
  const busyFloorPct = await busyFloor()
  const rx = receiver(sessions * n)
  const gated = countdown(sessions)
  const finished = countdown(sessions)
  const t0 = now()
  for (let i = 0; i < sessions; i++) {
    const id = `flood-${i}`
    start(ctx, id, { n, bytes, gate: true })
    const session = { next: 0, ended: false }
    ctx.manager.onMessage(id, (_, messages) => rx.take(session, messages, gated.count))
    ctx.manager.onStatus(id, (_, status) => {
      if ((status === 'done' || status === 'error') && !session.ended) {
        session.ended = true
        finished.count()
      }
    })
  }
  await until(ctx, gated.promise)
  const sampler = loopSampler()
  const mark = sampler.mark()
  const cpu = process.cpuUsage()
  for (const id of ctx.ids) {
    const r = ctx.manager.writePrompt(id, '{"go":true}')
    if (!r.ok) throw new Error(`writePrompt(${id}) failed: ${r.code} ${r.error}`)
  }
  await until(ctx, finished.promise)
  const loop = sampler.since(mark)
  const hostCpuMs = cpuMs(cpu)
  sampler.stop()
  return {
    ...rx.figures(sessions * n, bytes, mark.t),
    busyPct: round(loop.busyPct),
    busyFloorPct: round(busyFloorPct),
    lagMaxMs: round(loop.lagMaxMs),
    peakRssMB: round(peakRssMB()),
    hostCpuMs: round(hostCpuMs, 0),
    wallMs: round(now() - t0, 0), // includes runner start-up and pre-generation
  }
}

/** Order, loss and latency bookkeeping for flood messages ("<seq>|<sentAtMs>|<padding>"). */
function receiver(expected) {
  const latency = new Float64Array(expected)
  let received = 0
  let outOfOrder = 0
  let first = 0
  let last = 0
  return {
    take(session, messages, onGate) {
      const wall = Date.now() // sentAt is wall-clock ms from another process
      const before = received
      for (const m of messages) {
        if (m.type !== 'text') continue // the result's `cost` message
        const text = m.content.text
        const bar = text.indexOf('|')
        if (text.startsWith('gate|')) {
          onGate()
          continue
        }
        const seq = Number(text.slice(0, bar))
        if (seq !== session.next) outOfOrder++
        session.next = seq + 1
        if (received < expected) latency[received] = wall - Number(text.slice(bar + 1, bar + 14))
        received++
      }
      if (received === before) return // only the gate or the cost message
      last = now()
      if (!first) first = last
    },
    figures(total, bytes, goAt) {
      // received - 1 messages arrived after the first one, within the window.
      const windowS = (last - first) / 1000
      const rate = (x) => (windowS > 0 && received > 1 ? round(((received - 1) * x) / windowS, x === 1 ? 0 : 1) : null)
      const lat = latency.subarray(0, Math.min(received, expected))
      return {
        sent: total,
        received,
        lost: Math.max(0, total - received),
        outOfOrder,
        deliverMs: round(last - first, 0),
        streamMs: round(last - goAt, 0),
        msgsPerSec: rate(1),
        MBps: rate(bytes / MB),
        latencyP50Ms: percentile(lat, 0.5),
        latencyP99Ms: percentile(lat, 0.99),
      }
    },
  }
}

/** Spawn: sessions started one after another, each once the previous one called back. */
async function spawnLatency(ctx) {
  const call = []
  const firstCallback = []
  const firstMessage = []
  // The `ready` lifecycle event's sinceStartMs (startSession → the runner's {"type":"ready"},
  // measured by the manager), and when its callback reached JS. A manager without
  // onLifecycle reports null for these (shown as -), never 0.
  const lifecycle = typeof ctx.manager.onLifecycle === 'function'
  const startedAt = new Map()
  const ready = new Map() // id → { sinceStartMs, callbackMs }
  const subscription = lifecycle
    ? ctx.manager.onLifecycle((e) => {
        if (e.kind !== 'ready' || ready.has(e.id) || !startedAt.has(e.id)) return
        ready.set(e.id, { sinceStartMs: e.sinceStartMs, callbackMs: now() - startedAt.get(e.id) })
      })
    : null
  for (let i = 0; i < ctx.spec.count && !ctx.timedOut; i++) {
    const id = `spawn-${i}`
    let called
    const callback = new Promise((resolve) => (called = resolve))
    const t0 = now()
    startedAt.set(id, t0)
    start(ctx, id, { n: 1, bytes: 300 })
    call.push(now() - t0)
    let gotMessage = false
    // Whichever callback comes first counts; the first message is recorded on the side.
    ctx.manager.onStatus(id, () => called(now() - t0))
    ctx.manager.onMessage(id, () => {
      called(now() - t0)
      if (!gotMessage) firstMessage.push(now() - t0)
      gotMessage = true
    })
    let ms
    if (await until(ctx, callback.then((v) => (ms = v)))) firstCallback.push(ms)
  }
  // A `ready` may come after the first callback (status `running`); give the last ones 2 s.
  const readyBy = now() + 2000
  while (lifecycle && ready.size < call.length && now() < readyBy) await sleep(10)
  subscription?.dispose()
  const readyMs = [...ready.values()].map((r) => r.sinceStartMs)
  const readyCallbackMs = [...ready.values()].map((r) => r.callbackMs)
  const some = (values) => (lifecycle && values.length ? values : null)
  const stat = (values, q, digits = 2) => (some(values) ? round(percentile(values, q), digits) : null)
  return {
    sessions: call.length,
    callP50Ms: round(median(call), 3),
    callMaxMs: round(Math.max(...call), 3),
    firstCallbackP50Ms: round(median(firstCallback), 2),
    firstCallbackP95Ms: round(percentile(firstCallback, 0.95), 2),
    firstCallbackMaxMs: round(Math.max(...firstCallback), 2),
    firstMessageP50Ms: round(median(firstMessage), 2),
    readyMsP50: stat(readyMs, 0.5),
    readyMsP95: stat(readyMs, 0.95),
    readyMsMax: stat(readyMs, 1),
    readyCallbackMsP50: stat(readyCallbackMs, 0.5), // the same event as seen by JS
    readyMissing: lifecycle ? call.length - ready.size : null,
    peakRssMB: round(peakRssMB()),
  }
}

/**
 * Stop: runners that ignore the stop message, SIGTERM and stdin end, each with a `sleep`
 * grandchild, so only the SIGKILL escalation ends them. Measures stopSession → final status
 * callback and → runner exit, and which processes are alive 1 s after the final status.
 */
async function stopEscalation(ctx) {
  const { count } = ctx.spec
  const config = { n: 1, bytes: 300, hold: true, grandchild: true, ignoreStop: true, ignoreSigterm: true, ignoreStdinEnd: true }
  const up = countdown(count)
  const sessions = []
  for (let i = 0; i < count; i++) {
    const s = { id: `stop-${i}`, statuses: [], checks: [], up: false }
    start(ctx, s.id, config)
    // The runner spawns its grandchild (and writes its pid file) before its first event.
    ctx.manager.onMessage(s.id, () => {
      if (!s.up) up.count()
      s.up = true
    })
    ctx.manager.onStatus(s.id, (_, status, error) => onStopStatus(ctx, s, status, error))
    sessions.push(s)
  }
  await until(ctx, up.promise)
  for (const s of sessions) {
    s.pid = ctx.manager.getSession(s.id)?.pid
    s.grandchildren = reportedPids(ctx.pidDir).filter((p) => p.kind === 'grandchild' && p.parent === s.pid).map((p) => p.pid)
  }
  for (const s of sessions) {
    s.stopAt = now()
    const r = ctx.manager.stopSession(s.id)
    if (!r.ok) throw new Error(`stopSession(${s.id}) failed: ${r.code} ${r.error}`)
  }
  await until(ctx, waitForExits(ctx, sessions))
  // getSession() shows the exit a moment before the exit's status callback arrives.
  await sleep(300)
  // Every status callback scheduled a check 1 s later; wait until the last one has run.
  await until(ctx, Promise.all(sessions.flatMap((s) => s.checks)))
  return stopFigures(sessions)
}

function onStopStatus(ctx, s, status, error) {
  if (s.stopAt === undefined) return // 'running' at start-up
  const at = now()
  s.statuses.push({ status, error, ms: at - s.stopAt })
  // Which callback is the final one is only known later, so every one gets its 1 s check.
  const index = s.statuses.length - 1
  s.checks.push(
    sleep(1000).then(() => {
      s.statuses[index].runnerAlive = s.pid > 0 && isAlive(s.pid)
      s.statuses[index].grandchildrenAlive = s.grandchildren.filter(isAlive).length
    }),
  )
}

/** Polls getSession() until every runner has an exit code or signal. */
async function waitForExits(ctx, sessions) {
  for (;;) {
    for (const s of sessions) {
      if (s.exitMs !== undefined) continue
      const info = ctx.manager.getSession(s.id)
      if (!info || info.exitCode !== null || info.signal !== null) {
        s.exitMs = now() - s.stopAt
        s.exit = info ? (info.signal ?? `code ${info.exitCode}`) : 'removed'
      }
    }
    if (sessions.every((s) => s.exitMs !== undefined)) return
    await sleep(20)
  }
}

function stopFigures(sessions) {
  const finals = sessions.map((s) => s.statuses.at(-1)).filter(Boolean)
  const exits = sessions.map((s) => s.exitMs).filter((v) => v !== undefined)
  const kinds = (list) => [...new Set(list)].sort()
  return {
    sessions: sessions.length,
    finalStatusP50Ms: round(median(finals.map((f) => f.ms)), 0),
    finalStatusMaxMs: round(Math.max(...finals.map((f) => f.ms)), 0),
    finalStatuses: kinds(finals.map((f) => (f.error ? `${f.status}: ${f.error}` : f.status))),
    statusSequences: kinds(sessions.map((s) => s.statuses.map((x) => x.status).join('>') || 'none')),
    withoutFinalStatus: sessions.length - finals.length,
    exitP50Ms: round(median(exits), 0),
    exitMaxMs: round(Math.max(...exits), 0),
    exitKinds: kinds(sessions.map((s) => s.exit ?? 'not exited')),
    runnersAlive: finals.filter((f) => f.runnerAlive).length,
    grandchildrenAlive: finals.reduce((sum, f) => sum + (f.grandchildrenAlive ?? 0), 0),
    grandchildren: sessions.reduce((sum, s) => sum + s.grandchildren.length, 0),
  }
}

/** Idle: what 100 live sessions whose turn ended cost the host while nothing happens. */
async function idle(ctx) {
  const { count } = ctx.spec
  collectGarbage()
  await sleep(100)
  const before = hostFigures()
  const t0 = now()
  const done = countdown(count)
  for (let i = 0; i < count; i++) {
    const id = `idle-${i}`
    start(ctx, id, { n: 1, bytes: 300 })
    let ended = false
    ctx.manager.onStatus(id, (_, status) => {
      if ((status === 'done' || status === 'error') && !ended) {
        ended = true
        done.count()
      }
    })
  }
  await until(ctx, done.promise)
  const allIdleMs = now() - t0
  await sleep(500) // let start-up garbage settle before measuring
  collectGarbage()
  const after = hostFigures()
  const cpu = process.cpuUsage()
  await sleep(3000)
  const idleCpuMs = cpuMs(cpu)
  const alive = ctx.manager.describe().running
  return {
    sessions: count,
    runnersDied: count - alive, // runners that ended while they should idle
    rssPerSessionKB: round((after.rss - before.rss) / count / KiB),
    fdsPerSession: round((after.fds - before.fds) / count, 2),
    threads: `${before.threads}>${after.threads}`,
    rssMB: `${round(before.rss / MB)}>${round(after.rss / MB)}`,
    idleCpuMs: round(idleCpuMs),
    allIdleMs: round(allIdleMs, 0),
  }
}

/**
 * Sampling: count sessions whose runner keeps `children` extra `sleep` processes (so
 * 1 + children processes per session), with the manager's resourceSampleMs. Once every
 * session is up and the sampler has passed over all of them, polls resources().sampler each
 * second for windowMs: ticks, CPU per tick (cpuMs delta / ticks delta), the sampler's CPU as
 * % of one core, processes found, and the host's own CPU (process.cpuUsage()) over the window.
 */
async function sampling(ctx) {
  const { count, children, windowMs } = ctx.spec
  const config = { n: 1, bytes: 300, hold: true, children }
  const up = countdown(count)
  let upCount = 0
  const t0 = now()
  for (let i = 0; i < count; i++) {
    const id = `sampling-${i}`
    start(ctx, id, config)
    let isUp = false
    // The runner spawns its children (and writes their pid files) before its first event.
    ctx.manager.onMessage(id, () => {
      if (!isUp) {
        upCount++
        up.count()
      }
      isUp = true
    })
  }
  await until(ctx, up.promise)
  const allUpMs = now() - t0
  const pids = reportedPids(ctx.pidDir)
  const processesStarted = pids.length
  const expected = count * (1 + children)
  const snap = () => ctx.manager.resources().sampler
  const intervalMs = snap().intervalMs
  // Let the sampler make one full pass after everything is up (and settle the start-up burst).
  if (intervalMs > 0) {
    const ticks = snap().ticks
    const by = now() + 2 * intervalMs + 1000
    while (!ctx.timedOut && now() < by && (snap().ticks < ticks + 1 || snap().processes < processesStarted)) await sleep(50)
  }
  const first = snap()
  const cpu = process.cpuUsage()
  const w0 = now()
  const perTick = []
  const found = []
  let prev = first
  while (now() - w0 < windowMs && now() < ctx.deadline) {
    await sleep(Math.min(1000, Math.max(0, windowMs - (now() - w0))))
    const s = snap()
    if (s.ticks > prev.ticks) {
      perTick.push((s.cpuMs - prev.cpuMs) / (s.ticks - prev.ticks))
      found.push(s.processes)
    }
    prev = s
  }
  const wallMs = now() - w0
  const hostCpuMs = cpuMs(cpu)
  const last = prev
  const totals = ctx.manager.resources()
  const samplerCpuMs = last.cpuMs - first.cpuMs
  const pct = (100 * samplerCpuMs) / wallMs
  const on = intervalMs > 0
  return {
    sessions: count,
    notUp: count - upCount,
    allUpMs: round(allUpMs, 0),
    expectedProcesses: expected,
    processesStarted,
    processesAliveBefore: pids.filter((p) => isAlive(p.pid)).length,
    intervalMs,
    ticks: last.ticks - first.ticks,
    ticksTotal: last.ticks,
    tickMsP50: on ? round(median(perTick), 3) : null,
    tickMsMax: on && perTick.length ? round(Math.max(...perTick), 3) : null,
    tickMsAll: on ? perTick.map((x) => round(x, 2)) : null,
    lastTickMs: on ? round(last.lastMs, 3) : null,
    samplerCpuMs: on ? round(samplerCpuMs, 2) : null,
    samplerCpuMsTotal: on ? round(last.cpuMs, 2) : null, // since the manager was built
    samplerPctOfCore: on ? round(pct, 4) : null,
    budget: on ? (pct < SAMPLER_BUDGET_PCT ? 'PASS' : 'FAIL') : null,
    processesFound: on ? last.processes : null,
    processesFoundMin: on && found.length ? Math.min(...found) : null,
    treeProcesses: on ? totals.processes : null, // resources(): sum over the sessions
    treeRssMB: on ? round(totals.rssBytes / MB) : null,
    hostCpuMs: round(hostCpuMs, 0),
    hostPctOfCore: round((100 * hostCpuMs) / wallMs, 3),
    windowMs: round(wallMs, 0),
    peakRssMB: round(peakRssMB()),
  }
}

function hostFigures() {
  return { rss: rssBytes(), fds: countDir('/proc/self/fd'), threads: countDir('/proc/self/task') }
}

// ─── main ────────────────────────────────────────────────────────────────────

const args = parseArgs(process.argv.slice(2))
if (args.child) await child(args)
else await parent(args)
