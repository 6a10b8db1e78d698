#!/usr/bin/env node
// Benchmark runner (plain Node, no dependencies) speaking the sidecar protocol.
//
// Prints {"type":"ready"}, then on stdin:
//   {"type":"query",sessionId,prompt}  prompt is a JSON config (below); starts a turn
//   {"type":"stop"}                    exits 0 unless ignoreStop
// Stdin end exits 0 unless ignoreStdinEnd; SIGTERM kills it unless ignoreSigterm.
//
// Config (all optional):
//   n, bytes        n Claude-format assistant events, each NDJSON line exactly `bytes` long
//   gate            pre-generate, announce it with one text "gate|…", then wait for a second
//                   query {"go":true} before streaming, so the bench can start every session's
//                   stream at the same moment (runner start-up is not part of the timed window)
//   hold            write the events but never end the turn (no result, no agent_stopped)
//   exitAfter       exit 0 once the turn's last line is flushed
//   grandchild      spawn `sleep 1000` (same process group) before the turn
//   children        spawn that many `sleep 1000` (same process group) before the turn, like
//                   `grandchild` (which is children: 1): the `sampling` scenario's process trees
//   ignoreStop, ignoreSigterm, ignoreStdinEnd
//
// Every event text is "<seq>|<sentAtMs>|<padding>". All lines are built before the turn
// starts, as Buffers of ~64 KiB chunks with a 13-byte slot per line for the send time. At write
// time a chunk's slots are overwritten in place with Date.now() (a 13-byte copy per line, no
// string building, no re-encoding), so each line carries the time its chunk was handed to
// the pipe and the runner's own cost stays far below the manager's. Lines of one chunk share
// a timestamp; latency therefore includes at most one chunk's pipe time.
//
// With BENCH_PID_DIR set, the runner creates runner-<pid> (and grandchild-<pid>) there so the
// bench can check by pid that nothing outlives teardown.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'

const CHUNK_BYTES = 64 * 1024
const TS_WIDTH = 13 // Date.now() has 13 digits until the year 2286
const pidDir = process.env.BENCH_PID_DIR
const out = process.stdout
let cfg = {}
let pending = null // { sessionId, chunks } waiting for the go query
let streaming = false

/** Creates <kind>-<pid>, holding the parent runner's pid for a grandchild. */
function notePid(kind, pid, parent = '') {
  if (!pidDir || !pid) return
  try {
    fs.writeFileSync(path.join(pidDir, `${kind}-${pid}`), String(parent))
  } catch {
    // the bench falls back to getSession().pid; never fail the runner for this
  }
}

// process.stdout on a pipe is synchronous on Linux, but honour backpressure anyway
// (other platforms, other runtimes).
const write = (data) => new Promise((resolve) => (out.write(data) ? resolve() : out.once('drain', resolve)))
const flushed = () => new Promise((resolve) => out.write('', () => resolve()))
const line = (obj) => write(JSON.stringify(obj) + '\n')

/** Builds the n event lines as chunks: { buf, slots } where slots are timestamp offsets. */
function pregenerate(sessionId, n, bytes) {
  const sid = JSON.stringify(sessionId).slice(1, -1)
  const chunks = []
  const pads = new Map() // padding only changes with the digit count of i
  const pad = (len) => pads.get(len) ?? pads.set(len, 'x'.repeat(len)).get(len)
  let parts = []
  let slots = []
  let size = 0
  const flush = () => {
    if (!parts.length) return
    chunks.push({ buf: Buffer.from(parts.join(''), 'latin1'), slots: Int32Array.from(slots) })
    parts = []
    slots = []
    size = 0
  }
  for (let i = 0; i < n; i++) {
    const head = `{"type":"agent_event","sessionId":"${sid}","event":{"type":"assistant","uuid":"u${i}","message":{"content":[{"type":"text","text":"${i}|`
    const tail = `"}]}}}\n`
    const padLen = Math.max(1, bytes - head.length - TS_WIDTH - 1 - tail.length)
    slots.push(size + head.length)
    const text = `${head}${'0'.repeat(TS_WIDTH)}|${pad(padLen)}${tail}`
    parts.push(text)
    size += text.length
    if (size >= CHUNK_BYTES) flush()
  }
  flush()
  return chunks
}

async function stream(sessionId, chunks) {
  streaming = true
  const stamp = Buffer.alloc(TS_WIDTH)
  for (const { buf, slots } of chunks) {
    stamp.write(String(Date.now()), 0, 'latin1')
    for (let i = 0; i < slots.length; i++) stamp.copy(buf, slots[i])
    await write(buf)
  }
  if (!cfg.hold) {
    const n = cfg.n ?? 0
    await line({ type: 'agent_event', sessionId, event: { type: 'result', uuid: 'r', total_cost_usd: 0.01, usage: { input_tokens: 1, output_tokens: n } } })
    await line({ type: 'agent_stopped', sessionId })
  }
  streaming = false
  if (cfg.exitAfter) {
    await flushed()
    process.exit(0)
  }
}

async function startTurn(sessionId) {
  const children = cfg.children ?? (cfg.grandchild ? 1 : 0)
  for (let i = 0; i < children; i++) {
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' })
    child.unref() // the runner's lifetime is decided by stdin/stop, not by the sleep
    notePid('grandchild', child.pid, process.pid)
  }
  const chunks = pregenerate(sessionId, cfg.n ?? 0, cfg.bytes ?? 300)
  await line({ type: 'agent_started', sessionId })
  if (!cfg.gate) return stream(sessionId, chunks)
  pending = { sessionId, chunks }
  await line({ type: 'agent_event', sessionId, event: { type: 'assistant', uuid: 'gate', message: { content: [{ type: 'text', text: 'gate|' }] } } })
}

function onQuery(msg) {
  const conf = JSON.parse(msg.prompt)
  if (conf.go && pending) {
    const { sessionId, chunks } = pending
    pending = null
    return stream(sessionId, chunks)
  }
  if (streaming) return // one turn at a time is all the bench needs
  cfg = conf
  return startTurn(msg.sessionId)
}

process.on('SIGTERM', () => {
  if (cfg.ignoreSigterm) return
  // Die by the signal itself so the manager sees what a plain runner would report.
  process.removeAllListeners('SIGTERM')
  process.kill(process.pid, 'SIGTERM')
})

notePid('runner', process.pid)
await line({ type: 'ready' })
const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (text) => {
  const msg = JSON.parse(text)
  if (msg.type === 'stop') {
    if (!cfg.ignoreStop) flushed().then(() => process.exit(0))
  } else if (msg.type === 'query') {
    onQuery(msg)
  }
})
rl.on('close', () => {
  if (!cfg.ignoreStdinEnd) flushed().then(() => process.exit(0))
})
