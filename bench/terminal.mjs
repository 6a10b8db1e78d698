#!/usr/bin/env node
// Terminal benchmark: the package's terminals side by side with node-pty and @replit/ruspty
// (Node), Bun.Terminal (Bun) and a blocking-read floor (Python's pty module), in one run.
//
//   node bench/terminal.mjs [--impl LIST] [--scenario LIST] [--runs N] [--json]
//   node_modules/.bin/bun bench/terminal.mjs ...        (native, bun-terminal, floor)
//
// Scenarios: flood (head -c 50000000 /dev/urandom | base64: 68 MB through the PTY), slow (a
// tenth of it into a 5 ms-per-callback consumer), echo (keystroke → echo through cat, 200 times),
// open (openTerminal-equivalent call and time to first output, 30 times), idle200 (200 idle
// terminals: RSS, descriptors, threads per terminal). Every (implementation, scenario, run)
// runs in a fresh child process of the same engine. The peers are installed into
// bench/terminal/node_modules on first use (they are not dependencies of the package).

import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const isBun = typeof process.versions.bun === 'string'
const ENGINE = isBun ? `bun ${process.versions.bun}` : `node ${process.versions.node}`
const IMPLS = isBun ? ['native', 'bun-terminal', 'floor'] : ['native', 'node-pty', 'ruspty', 'floor']
const SCENARIOS = ['flood', 'slow', 'echo', 'open', 'idle200']
const FLOOD_BYTES = 50_000_000
// The slow consumer gets a tenth of it: node-pty makes ~50 000 callbacks of the full flood,
// which at 5 ms each would be four minutes.
const SLOW_BYTES = FLOOD_BYTES / 10
const floodCmd = (bytes) => `head -c ${bytes} /dev/urandom | base64`

/** What the flood writes through the tty: base64 in lines of 76, each "\n" made "\r\n" (ONLCR). */
function floodExpected(bytes) {
  const chars = 4 * Math.ceil(bytes / 3)
  return chars + 2 * Math.ceil(chars / 76)
}

// ── measurements ──────────────────────────────────────────────────────────────

/** CPU time of the calling (JS main) thread, ms. */
function threadCpuMs() {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6
}
function peakRssMB() {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024
}
function rssKB() {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1])
}
const count = (dir) => readdirSync(dir).length
const now = () => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
function pct(values, q) {
  const v = [...values].sort((a, b) => a - b)
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : null
}

// ── implementations: open({ command, args, onData, onExit }) → { write, kill } ──────

function implementation(name) {
  const peers = join(here, 'terminal', 'node_modules')
  switch (name) {
    case 'native': {
      const { SidecarManager } = require('../index.js')
      const m = new SidecarManager({ killGraceMs: 200 })
      let n = 0
      return {
        open(o) {
          const t = m.openTerminal(`t${n++}`, { command: o.command, args: o.args, cols: 80, rows: 24 })
          t.onData(o.onData)
          t.onExit(() => o.onExit())
          return { write: (s) => t.write(s), kill: () => t.kill('SIGKILL') }
        },
        done: () => m.dispose(),
      }
    }
    case 'node-pty': {
      const pty = require(join(peers, 'node-pty'))
      return {
        open(o) {
          const p = pty.spawn(o.command, o.args, { name: 'xterm-256color', cols: 80, rows: 24, cwd: process.cwd(), env: process.env })
          p.onData(o.onData)
          p.onExit(() => o.onExit())
          return { write: (s) => p.write(s), kill: () => p.kill('SIGKILL') }
        },
        done: async () => {},
      }
    }
    case 'ruspty': {
      const { Pty } = require(join(peers, '@replit/ruspty'))
      return {
        open(o) {
          const p = new Pty({ command: o.command, args: o.args, envs: process.env, dir: process.cwd(), size: { rows: 24, cols: 80 }, onExit: () => o.onExit() })
          p.read.on('data', o.onData)
          p.read.on('error', () => {})
          return { write: (s) => p.write.write(s), kill: () => process.kill(p.pid, 'SIGKILL') }
        },
        done: async () => {},
      }
    }
    case 'bun-terminal':
      return {
        open(o) {
          const proc = Bun.spawn([o.command, ...o.args], {
            env: { ...process.env, TERM: 'xterm-256color' },
            terminal: { cols: 80, rows: 24, name: 'xterm-256color', data: (_t, d) => o.onData(d) },
          })
          proc.exited.then(() => o.onExit())
          return { write: (s) => proc.terminal.write(s), kill: () => proc.kill(9) }
        },
        done: async () => {},
      }
    default:
      throw new Error(`unknown implementation ${name}`)
  }
}

// ── scenarios ─────────────────────────────────────────────────────────────────

async function flood(impl, slow) {
  const size = slow ? SLOW_BYTES : FLOOD_BYTES
  const t0 = now()
  const cpu0 = threadCpuMs()
  let bytes = 0
  let callbacks = 0
  let exitAt = null
  let atExit = 0
  await new Promise((resolve) => {
    impl.open({
      command: '/bin/sh',
      args: ['-c', floodCmd(size)],
      onData: (d) => {
        bytes += d.length
        callbacks++
        if (slow) {
          const end = now() + 5
          while (now() < end) {}
        }
      },
      onExit: () => {
        exitAt = now()
        atExit = bytes
        resolve()
      },
    })
  })
  // Output a peer delivers after its exit event still counts (but is reported).
  await sleep(1000)
  const secs = (exitAt - t0) / 1000
  return {
    MBps: +(bytes / 1e6 / secs).toFixed(1),
    wallMs: Math.round(exitAt - t0),
    mainCpuMs: Math.round(threadCpuMs() - cpu0),
    callbacks,
    lostBytes: floodExpected(size) - bytes,
    afterExitBytes: bytes - atExit,
    peakRssMB: +peakRssMB().toFixed(1),
  }
}

async function echo(impl) {
  let waiter = null
  let seen = ''
  const t = impl.open({
    command: 'cat',
    args: [],
    onData: (d) => {
      seen += typeof d === 'string' ? d : Buffer.from(d).toString('latin1')
      if (waiter && seen.includes('a')) {
        const w = waiter
        waiter = null
        w()
      }
    },
    onExit: () => {},
  })
  await sleep(300)
  const samples = []
  for (let i = 0; i < 200; i++) {
    seen = ''
    const start = now()
    await new Promise((resolve) => {
      waiter = resolve
      t.write('a')
    })
    samples.push(now() - start)
  }
  t.kill()
  await sleep(200)
  return { echoP50Ms: +pct(samples, 0.5).toFixed(3), echoP99Ms: +pct(samples, 0.99).toFixed(3) }
}

async function open(impl) {
  const calls = []
  const firsts = []
  for (let i = 0; i < 30; i++) {
    let first = null
    let start
    await new Promise((resolve) => {
      start = now()
      impl.open({
        command: '/bin/sh',
        args: ['-c', 'echo hi'],
        onData: () => {
          if (first === null) first = now() - start
        },
        onExit: resolve,
      })
      calls.push(now() - start)
    })
    await sleep(20)
    if (first !== null) firsts.push(first)
  }
  return { openCallP50Ms: +pct(calls, 0.5).toFixed(3), firstOutputP50Ms: +pct(firsts, 0.5).toFixed(2) }
}

async function idle200(impl) {
  // Warm up once so runtime threads that exist anyway are in the baseline.
  await new Promise((resolve) => impl.open({ command: '/bin/sh', args: ['-c', 'exit 0'], onData() {}, onExit: resolve }))
  await sleep(300)
  const rss0 = rssKB()
  const fds0 = count('/proc/self/fd')
  const threads0 = count('/proc/self/task')
  const terms = []
  let exited = 0
  for (let i = 0; i < 200; i++) terms.push(impl.open({ command: '/bin/sh', args: ['-c', 'exec sleep 60'], onData() {}, onExit: () => exited++ }))
  await sleep(2000)
  const r = {
    rssKBPerTerminal: Math.round((rssKB() - rss0) / 200),
    fdsPerTerminal: +((count('/proc/self/fd') - fds0) / 200).toFixed(2),
    threadsAdded: count('/proc/self/task') - threads0,
  }
  for (const t of terms) t.kill()
  const end = Date.now() + 10_000
  while (exited < 200 && Date.now() < end) await sleep(50)
  return r
}

/** The floor: Python reading the master with blocking reads, nothing else. */
function floorFlood() {
  const py = `
import json, os, pty, sys, time
t0 = time.time()
pid, fd = pty.fork()
if pid == 0:
    os.execvp('sh', ['sh', '-c', sys.argv[1]])
n = 0
while True:
    try:
        b = os.read(fd, 65536)
    except OSError:
        break
    if not b:
        break
    n += len(b)
os.waitpid(pid, 0)
print(json.dumps({'bytes': n, 'ms': (time.time() - t0) * 1000}))
`
  const out = JSON.parse(execFileSync('python3', ['-c', py, floodCmd(FLOOD_BYTES)], { encoding: 'utf8', maxBuffer: 1 << 20 }))
  return { MBps: +(out.bytes / 1e6 / (out.ms / 1000)).toFixed(1), wallMs: Math.round(out.ms), lostBytes: floodExpected(FLOOD_BYTES) - out.bytes }
}

async function child(implName, scenario) {
  if (implName === 'floor') {
    if (scenario !== 'flood') return { skipped: 'the floor measures the flood only' }
    return floorFlood()
  }
  const impl = implementation(implName)
  try {
    switch (scenario) {
      case 'flood':
        return await flood(impl, false)
      case 'slow':
        return await flood(impl, true)
      case 'echo':
        return await echo(impl)
      case 'open':
        return await open(impl)
      case 'idle200':
        return await idle200(impl)
      default:
        throw new Error(`unknown scenario ${scenario}`)
    }
  } finally {
    await impl.done()
  }
}

// ── parent ────────────────────────────────────────────────────────────────────

function ensurePeers(impls) {
  if (!impls.some((i) => i === 'node-pty' || i === 'ruspty')) return
  if (existsSync(join(here, 'terminal', 'node_modules', 'node-pty')) && existsSync(join(here, 'terminal', 'node_modules', '@replit', 'ruspty'))) return
  process.stderr.write('bench: installing node-pty and @replit/ruspty into bench/terminal/node_modules …\n')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save'], { cwd: join(here, 'terminal'), stdio: 'inherit' })
}

function runChild(impl, scenario) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', impl, scenario], { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
    let out = ''
    c.stdout.on('data', (d) => (out += d))
    const timer = setTimeout(() => {
      try {
        process.kill(-c.pid, 'SIGKILL')
      } catch {}
    }, 180_000)
    c.on('exit', (code, signal) => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)))
      } catch {
        resolve({ error: `exit ${code ?? signal}`, output: out.slice(-200) })
      }
    })
  })
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b)
  return v.length ? v[Math.floor((v.length - 1) / 2)] : undefined
}

async function parent() {
  const args = process.argv.slice(2)
  const opt = (name, dflt) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : dflt
  }
  const impls = opt('--impl', IMPLS.join(',')).split(',')
  const scenarios = opt('--scenario', SCENARIOS.join(',')).split(',')
  const runs = Number(opt('--runs', '1'))
  const json = args.includes('--json')
  ensurePeers(impls)
  const rows = []
  for (const scenario of scenarios) {
    for (const impl of impls) {
      if (impl === 'floor' && scenario !== 'flood') continue
      const results = []
      for (let r = 0; r < runs; r++) {
        process.stderr.write(`bench: ${impl} ${scenario} (${ENGINE}) run ${r + 1}/${runs} …\n`)
        results.push(await runChild(impl, scenario))
      }
      const keys = [...new Set(results.flatMap((x) => Object.keys(x)))]
      const row = { scenario, impl, engine: ENGINE, runs }
      for (const k of keys) {
        const m = median(results.map((x) => x[k]))
        row[k] = m === undefined ? results.find((x) => x[k] !== undefined)?.[k] : m
      }
      if (runs > 1) row.perRun = results
      rows.push(row)
      if (json) process.stdout.write(JSON.stringify(row) + '\n')
    }
  }
  const out = json ? process.stderr : process.stdout
  for (const scenario of scenarios) {
    const these = rows.filter((r) => r.scenario === scenario)
    if (!these.length) continue
    const keys = [...new Set(these.flatMap((r) => Object.keys(r)))].filter((k) => !['scenario', 'impl', 'engine', 'runs', 'perRun'].includes(k))
    out.write(`\n${scenario} (${ENGINE}, medians of ${runs})\n| figure | ${these.map((r) => r.impl).join(' | ')} |\n|---|${these.map(() => '---').join('|')}|\n`)
    for (const k of keys) out.write(`| ${k} | ${these.map((r) => (r[k] === undefined ? '' : typeof r[k] === 'object' ? JSON.stringify(r[k]) : r[k])).join(' | ')} |\n`)
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n')
      process.exit(0)
    },
    (e) => {
      process.stdout.write(JSON.stringify({ error: String(e && e.stack ? e.stack : e) }) + '\n')
      process.exit(1)
    },
  )
} else {
  await parent()
}
