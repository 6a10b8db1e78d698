#!/usr/bin/env node
// Benchmark runner: speaks the sidecar protocol; each query's prompt is a JSON config
// { n, bytes, ignoreStop, grandchild }. It builds all n Claude-format assistant events first,
// then writes them as fast as the pipe takes them, then a result and agent_stopped.
// Every text is "<seq>|<sentAtMs>|<padding>" so the bench checks order and measures latency.
import { spawn } from 'node:child_process'
import readline from 'node:readline'

const out = process.stdout
let cfg = {}
const write = (s) => new Promise((resolve) => (out.write(s) ? resolve() : out.once('drain', resolve)))
const flushed = () => new Promise((resolve) => out.write('', () => resolve()))
process.on('SIGTERM', () => {
  if (!cfg.ignoreSigterm) process.exit(143)
})

async function turn(sessionId) {
  const n = cfg.n ?? 0
  const pad = 'x'.repeat(Math.max(0, (cfg.bytes ?? 300) - 160))
  const lines = new Array(n)
  for (let i = 0; i < n; i++) {
    // The send time is patched in below; reserve its width here.
    lines[i] = `{"type":"agent_event","sessionId":"${sessionId}","event":{"type":"assistant","uuid":"u${i}","message":{"content":[{"type":"text","text":"${i}|@@@@@@@@@@@@@|${pad}"}]}}}\n`
  }
  await write(JSON.stringify({ type: 'agent_started', sessionId }) + '\n')
  for (let i = 0; i < n; i++) await write(lines[i].replace('@@@@@@@@@@@@@', String(Date.now()).padStart(13, '0')))
  await write(JSON.stringify({ type: 'agent_event', sessionId, event: { type: 'result', uuid: 'r', total_cost_usd: 0.01, usage: { input_tokens: 1, output_tokens: n } } }) + '\n')
  await write(JSON.stringify({ type: 'agent_stopped', sessionId }) + '\n')
  if (cfg.exitAfter) {
    await flushed()
    process.exit(0)
  }
}

await write('{"type":"ready"}\n')
const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const msg = JSON.parse(line)
  if (msg.type === 'stop') {
    if (!cfg.ignoreStop) flushed().then(() => process.exit(0))
  } else if (msg.type === 'query') {
    cfg = JSON.parse(msg.prompt)
    if (cfg.grandchild) spawn('sleep', ['1000'], { stdio: 'ignore' })
    turn(msg.sessionId)
  }
})
rl.on('close', () => {
  if (!cfg.ignoreStdinEnd) flushed().then(() => process.exit(0))
})
