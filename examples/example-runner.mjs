#!/usr/bin/env node
// Example sidecar runner: the runner side of the SidecarManager NDJSON protocol, with a scripted
// agent instead of a real one. Plain Node >= 18 ESM, no dependencies.
//
// Protocol (one JSON object per line):
//   stdin  (host -> runner): {"type":"query","sessionId","prompt",...options}  start a turn
//                            {"type":"stop","sessionId"}                          exit 0
//                            {"type":"ping"}                                      answer {"type":"pong"}
//                            end of stdin                                         finish queued turns, exit 0
//   stdout (runner -> host): {"type":"ready"}                                     once, at start
//                            {"type":"agent_started","sessionId"}                 a turn begins
//                            {"type":"agent_event","sessionId","event":{...}}     Claude Agent SDK
//                                                                                 stream-json message
//                            {"type":"agent_stopped","sessionId"}                 the turn is over
//
// Every turn plays the same Claude-format script (system/init, thinking, text, tool_use Read,
// tool_result, final text, result), whatever provider file imported this module.
// stdout carries NDJSON only; diagnostics go to stderr (the manager logs runner stderr lines at
// info level: SIDECAR_LOG=sidecar::runner=info shows them).
//
// The demo also passes this file's path as the manager's `claudePath` option: the manager only
// checks that the Claude CLI exists before starting a "claude" session, and this runner never
// calls a CLI, so any existing file does.

import { randomUUID, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'

const DEFAULT_MODEL = 'claude-sonnet-4-5-20250929'
const COST_PER_TURN = 0.0123
const TOOLS = ['Task', 'Bash', 'Glob', 'Grep', 'Read', 'Edit', 'Write', 'WebFetch', 'TodoWrite']

function log(...args) {
  process.stderr.write(`[example-runner ${process.pid}] ${args.join(' ')}\n`)
}

// ── output ──────────────────────────────────────────────────────────────────

let stdoutClosed = false
process.stdout.on('error', (err) => {
  // EPIPE: the host is gone; nobody is listening any more.
  stdoutClosed = true
  log(`stdout error: ${err.code || err.message}; exiting`)
  process.exit(0)
})

function send(obj) {
  if (stdoutClosed) return
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function exitCleanly(reason) {
  log(`exiting (${reason})`)
  stopping = true
  for (const t of timers) clearTimeout(t)
  timers.clear()
  // Exit once everything written so far has reached the pipe.
  if (stdoutClosed) process.exit(0)
  process.stdout.write('', () => process.exit(0))
}

// ── per-session state (one runner serves one session, but keep it keyed anyway) ──

/** sessionId -> { sdkSessionId, model, cwd, turns, costUsd } */
const sessions = new Map()
/** Queries waiting for the current turn to end. */
const queue = []
let busy = false
let stopping = false
let inputClosed = false
const timers = new Set()

function sleep(minMs = 20, maxMs = 150) {
  const ms = minMs + Math.floor(Math.random() * (maxMs - minMs + 1))
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t)
      resolve()
    }, ms)
    timers.add(t)
  })
}

function toolUseId() {
  // Claude tool ids look like toolu_01AbC...: 24 base62-ish characters.
  return 'toolu_01' + randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 22)
}

function messageId() {
  return 'msg_01' + randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 22)
}

function estimateTokens(text) {
  return Math.max(1, Math.ceil(text.length / 4))
}

function shorten(text, max = 60) {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > max ? oneLine.slice(0, max - 1) + '…' : oneLine
}

/** What the scripted Read tool returns: the first lines of a real file, in Read's numbered style. */
function readForTool(filePath) {
  try {
    if (!existsSync(filePath) || !statSync(filePath).isFile()) {
      return { content: '<tool_use_error>File does not exist.</tool_use_error>', isError: true, lines: 0 }
    }
    const all = readFileSync(filePath, 'utf8').split('\n')
    const lines = all.slice(0, 5)
    const content = lines.map((l, i) => `${String(i + 1).padStart(6)}→${l}`).join('\n')
    return { content, isError: false, lines: lines.length, totalLines: all.length }
  } catch (err) {
    return { content: `<tool_use_error>${err.message}</tool_use_error>`, isError: true, lines: 0 }
  }
}

/** Picks a file for the scripted Read: the first of a few usual suspects in cwd. */
function pickFile(cwd) {
  for (const name of ['README.md', 'package.json', 'Cargo.toml']) {
    const p = path.join(cwd, name)
    if (existsSync(p)) return p
  }
  return path.join(cwd, 'README.md')
}

// ── one scripted turn ───────────────────────────────────────────────────────

async function playTurn(query) {
  const sessionId = typeof query.sessionId === 'string' ? query.sessionId : 'unknown'
  const prompt = typeof query.prompt === 'string' ? query.prompt : ''
  let s = sessions.get(sessionId)
  if (!s) {
    let cwd = process.cwd()
    if (typeof query.cwd === 'string' && query.cwd) cwd = path.resolve(query.cwd)
    s = {
      sdkSessionId: typeof query.resumeSessionId === 'string' && query.resumeSessionId ? query.resumeSessionId : randomUUID(),
      model: typeof query.model === 'string' && query.model ? query.model : DEFAULT_MODEL,
      cwd,
      permissionMode: typeof query.permissionMode === 'string' ? query.permissionMode : 'default',
      turns: 0,
      costUsd: 0,
    }
    sessions.set(sessionId, s)
  }
  s.turns += 1
  const turn = s.turns
  const started = Date.now()
  const sid = s.sdkSessionId
  const event = (e) => send({ type: 'agent_event', sessionId, event: { ...e, session_id: sid, uuid: randomUUID() } })
  const assistant = (content, stopReason = null) =>
    event({
      type: 'assistant',
      message: {
        id: messageId(),
        type: 'message',
        role: 'assistant',
        model: s.model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { input_tokens: 4, output_tokens: 1 },
      },
      parent_tool_use_id: null,
    })

  log(`turn ${turn} of ${sessionId}: ${shorten(prompt)}`)
  send({ type: 'agent_started', sessionId })
  await sleep()
  if (stopping) return

  event({
    type: 'system',
    subtype: 'init',
    cwd: s.cwd,
    tools: TOOLS,
    mcp_servers: [],
    model: s.model,
    permissionMode: s.permissionMode,
    slash_commands: ['compact', 'context', 'cost'],
    apiKeySource: 'none',
    output_style: 'default',
  })
  await sleep()
  if (stopping) return

  assistant([
    {
      type: 'thinking',
      thinking: `The user asks: "${shorten(prompt, 80)}". I should look at the project first, then answer briefly.`,
      signature: randomBytes(24).toString('base64'),
    },
  ])
  await sleep()
  if (stopping) return

  assistant([{ type: 'text', text: `Let me look at the project before answering "${shorten(prompt, 50)}".` }])
  await sleep()
  if (stopping) return

  const toolId = toolUseId()
  const filePath = pickFile(s.cwd)
  assistant([{ type: 'tool_use', id: toolId, name: 'Read', input: { file_path: filePath } }], 'tool_use')
  await sleep()
  if (stopping) return

  const read = readForTool(filePath)
  event({
    type: 'user',
    message: {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: toolId, content: read.content, ...(read.isError ? { is_error: true } : {}) }],
    },
    parent_tool_use_id: null,
    tool_use_result: read.isError
      ? `Error: ${read.content}`
      : { type: 'text', file: { filePath, numLines: read.lines, startLine: 1, totalLines: read.totalLines } },
  })
  await sleep()
  if (stopping) return

  const answer = read.isError
    ? `I could not read ${path.basename(filePath)}, but here is my answer to "${shorten(prompt, 50)}": it is turn ${turn}, and all is well.`
    : `I read ${read.lines} lines of ${path.basename(filePath)}. Answer to "${shorten(prompt, 50)}": this is turn ${turn}, and all is well.`
  assistant([{ type: 'text', text: answer }], 'end_turn')
  await sleep()
  if (stopping) return

  s.costUsd = Math.round((s.costUsd + COST_PER_TURN) * 1e6) / 1e6
  const inputTokens = 2400 + estimateTokens(prompt) * 3 + (turn - 1) * 350
  const outputTokens = 180 + estimateTokens(answer) + Math.min(400, estimateTokens(prompt) * 2)
  const durationMs = Date.now() - started
  event({
    type: 'result',
    subtype: 'success',
    is_error: false,
    duration_ms: durationMs,
    duration_api_ms: Math.max(1, durationMs - 15),
    num_turns: turn,
    result: answer,
    total_cost_usd: s.costUsd,
    usage: {
      input_tokens: inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: turn > 1 ? 2048 : 0,
      output_tokens: outputTokens,
      service_tier: 'standard',
    },
    permission_denials: [],
  })
  await sleep()
  if (stopping) return

  send({ type: 'agent_stopped', sessionId })
}

async function drain() {
  if (busy) return
  busy = true
  try {
    while (queue.length > 0 && !stopping) {
      const q = queue.shift()
      try {
        await playTurn(q)
      } catch (err) {
        log(`turn failed: ${err && err.stack ? err.stack : err}`)
        send({ type: 'agent_error', sessionId: q.sessionId, message: String(err && err.message ? err.message : err) })
      }
    }
  } finally {
    busy = false
  }
  if (inputClosed && !stopping) exitCleanly('stdin closed, queued turns played')
}

// ── input ───────────────────────────────────────────────────────────────────

function handleLine(line) {
  if (!line.trim()) return
  let msg
  try {
    msg = JSON.parse(line)
  } catch {
    log(`ignoring a line that is not JSON: ${shorten(line, 80)}`)
    return
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    log('ignoring a line that is not a JSON object')
    return
  }
  switch (msg.type) {
    case 'query':
      queue.push(msg)
      void drain()
      break
    case 'stop':
      exitCleanly('stop message')
      break
    case 'ping':
      send({ type: 'pong' })
      break
    default:
      log(`ignoring message of type ${JSON.stringify(msg.type)}`)
  }
}

// The manager ends runners with SIGTERM to their process group (removeSession, dispose, and a
// stop that outlives its grace): say so on stderr and exit like a stop message would.
process.on('SIGTERM', () => exitCleanly('SIGTERM'))

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', handleLine)
rl.on('close', () => {
  // End of stdin: play what is queued, then exit (drain() exits when it is done).
  inputClosed = true
  if (!busy && !stopping) exitCleanly('stdin closed')
})

log(`started (node ${process.version}, cwd ${process.cwd()})`)
send({ type: 'ready' })
