// Demo of the native SidecarManager: three concurrent "claude" sessions played by the scripted
// example runner, one follow-up prompt, a summary of the sessions, then dispose().
//
//   npm run demo                           (node examples/demo.mjs)
//   node_modules/.bin/bun examples/demo.mjs
//
// Exits 0 by itself once dispose() has ended every runner; exits 1 on any { ok: false }, error
// status or error message, or when the sessions are not finished after 30 s.

import path from 'node:path'
import { fileURLToPath } from 'node:url'
// In an app: import { SidecarManager } from '@agor/sidecar-native'
import { SidecarManager } from '../index.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const isBun = typeof process.versions.bun === 'string'
const t0 = Date.now()
const HARD_TIMEOUT_MS = 30_000
const EXIT_WATCHDOG_MS = 5_000

function stamp() {
  return `${String(Date.now() - t0).padStart(5)}ms`
}
function say(line) {
  console.log(`${stamp()} ${line}`)
}
function short(value, max = 72) {
  const text = (typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)).replace(/\s+/g, ' ').trim()
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}

const manager = new SidecarManager({
  // <runnerRoot>/sidecar/dist/<provider>-runner.mjs: three one-line files importing example-runner.mjs.
  runnerRoot: path.join(here, 'runners'),
  // A "claude" session needs the Claude CLI to exist; the manager only checks that this path
  // exists (the scripted runner never runs a CLI), so the runner script itself stands in for it.
  claudePath: path.join(here, 'example-runner.mjs'),
  // The runners are plain Node scripts: under Node use this very node; under Bun, process.execPath
  // is bun, so ask for "node" from PATH.
  runtime: isBun ? 'node' : process.execPath,
})

/** The sessions of the demo; `followUp` is sent once the first turn is done. */
const plan = [
  { id: 'alpha', prompt: 'Summarise what this repository does', followUp: 'Now list its public API in one line' },
  {
    id: 'beta',
    prompt: 'Which runner files does the examples folder hold?',
    options: { model: 'claude-opus-4-1-20250805', cwd: here, systemPrompt: 'Be terse.', maxTurns: 5 },
  },
  { id: 'gamma', prompt: 'Is the NDJSON framing bounded?' },
]
// Where this machine can confine a session (Linux: Landlock; macOS: Seatbelt), one more runs
// in a sandbox: it may write only in its folder and its own temp folder, and reach no network.
// Its `sandboxed` lifecycle line says what the kernel enforces.
const support = manager.sandboxSupport()
if (support.filesystem) {
  plan.push({
    id: 'delta',
    prompt: 'Run inside a sandbox',
    options: { cwd: here, sandbox: support.network !== 'none' ? { network: 'none' } : {} },
  })
} else {
  say(`sandboxSupport(): ${support.mechanism} (${support.missing.join('; ')}): no sandboxed session`)
}

/** sessionId -> bookkeeping */
const track = new Map()
const failures = []
let finishing = false

function failure(text) {
  failures.push(text)
  say(`FAILURE: ${text}`)
  void finish()
}

function summarize(m) {
  const c = m.content ?? {}
  switch (m.type) {
    case 'init':
      return `model=${c.model} cwd=${c.cwd} tools=${(c.tools ?? []).length} sdkSession=${String(c.sessionId).slice(0, 8)}`
    case 'text':
    case 'thinking':
      return short(c.text)
    case 'tool_call':
      return `${c.name} ${short(c.input, 60)} (${c.toolUseId})`
    case 'tool_result': {
      const out = typeof c.output === 'string' ? c.output : JSON.stringify(c.output ?? '')
      return `${c.toolUseId} → ${out.split('\n').length} line(s): ${short(out, 40)}`
    }
    case 'cost':
      return `total $${c.totalCostUsd.toFixed(4)}, in=${c.inputTokens} out=${c.outputTokens} tokens, turns=${c.numTurns}, ${c.durationMs}ms${c.isError ? ' (error)' : ''}`
    case 'status':
      return `${c.subtype}${c.message ? ` ${c.message}` : ''}`
    case 'error':
      return short(c.message)
    default:
      return short(c)
  }
}

function onMessage(sessionId, messages) {
  const t = track.get(sessionId)
  for (const m of messages) {
    t.messages += 1
    say(`[${sessionId}] ${m.type}: ${summarize(m)}`)
    if (m.type === 'cost') {
      t.lastCost = m.content.totalCostUsd
      t.inputTokens += m.content.inputTokens
      t.outputTokens += m.content.outputTokens
    } else if (m.type === 'error') {
      failure(`${sessionId}: error message ${short(m.content?.message)}`)
    } else if (m.type === 'unknown') {
      say(`[${sessionId}] (warning: the adapter did not recognise this event)`)
    }
  }
}

function onStatus(sessionId, status, error) {
  const t = track.get(sessionId)
  say(`[${sessionId}] status → ${status}${error ? ` (${error})` : ''}`)
  const previous = t.status
  t.status = status
  if (status === 'error') {
    failure(`${sessionId}: status error${error ? `: ${error}` : ''}`)
    return
  }
  if (status !== 'done' || previous !== 'running' || finishing) return
  t.turnsDone += 1
  if (t.turnsDone === 1 && t.followUp) {
    say(`[${sessionId}] writePrompt(${JSON.stringify(t.followUp)})`)
    const r = manager.writePrompt(sessionId, t.followUp)
    if (!r.ok) return failure(`writePrompt(${sessionId}): ${r.code} ${r.error}`)
  }
  if ([...track.values()].every((x) => x.turnsDone >= x.turnsWanted)) void finish()
}

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)))
  const line = (cells) => cells.map((v, i) => String(v).padEnd(widths[i])).join('  ').trimEnd()
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => r[c])))].join('\n')
}

async function finish() {
  if (finishing) return
  finishing = true
  clearTimeout(hardTimer)

  if (failures.length === 0) {
    const rows = manager.listSessions().map((s) => ({
      sessionId: s.sessionId,
      status: s.status,
      costUsd: s.costUsd.toFixed(4),
      inputTokens: s.inputTokens,
      outputTokens: s.outputTokens,
    }))
    console.log(`\nlistSessions():\n${table(rows, ['sessionId', 'status', 'costUsd', 'inputTokens', 'outputTokens'])}\n`)
    // The manager's totals must match what the cost messages said.
    for (const s of manager.listSessions()) {
      const t = track.get(s.sessionId)
      if (!t) continue
      if (Math.abs(s.costUsd - t.lastCost) > 1e-9 || s.inputTokens !== t.inputTokens || s.outputTokens !== t.outputTokens) {
        failures.push(`${s.sessionId}: listSessions() totals differ from the cost messages`)
        say(`FAILURE: ${failures.at(-1)}`)
      }
    }
    const g = manager.getSession('alpha')
    if (g) {
      console.log(
        `getSession('alpha'): pid=${g.pid} status=${g.status} bytesIn=${g.bytesIn} bytesOut=${g.bytesOut} ` +
          `messages=${g.messages} droppedLines=${g.droppedLines} uptimeMs=${g.uptimeMs} exitCode=${g.exitCode}\n`,
      )
      if (g.messages !== track.get('alpha').messages) {
        failures.push(`alpha: getSession().messages=${g.messages} but ${track.get('alpha').messages} were delivered`)
        say(`FAILURE: ${failures.at(-1)}`)
      }
    } else {
      failures.push(`getSession('alpha') returned null`)
      say(`FAILURE: ${failures.at(-1)}`)
    }
  }

  const pids = plan.map((p) => manager.getSession(p.id)?.pid).filter((pid) => typeof pid === 'number')
  say(`dispose() (runners alive: ${manager.describe().running})`)
  await manager.dispose()
  say(`disposed: ${JSON.stringify(manager.describe())}`)
  const leftovers = pids.filter((pid) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  })
  if (leftovers.length > 0) {
    failures.push(`runner process(es) still alive after dispose(): ${leftovers.join(', ')}`)
    say(`FAILURE: ${failures.at(-1)}`)
  }

  process.exitCode = failures.length === 0 ? 0 : 1
  say(failures.length === 0 ? 'demo OK, exiting' : `demo FAILED (${failures.length} problem(s)), exiting`)
  // Nothing of ours is left on the event loop: the process must now exit by itself. This timer
  // is unref'd, so it only fires if something else (a bug) keeps the process alive.
  setTimeout(() => {
    console.error(`BUG: the process is still alive ${EXIT_WATCHDOG_MS} ms after dispose() resolved`)
    process.exit(1)
  }, EXIT_WATCHDOG_MS).unref()
}

const hardTimer = setTimeout(() => {
  const missing = [...track.values()]
    .filter((t) => t.turnsDone < t.turnsWanted)
    .map((t) => `${t.id}: ${t.turnsDone}/${t.turnsWanted} turn(s) done, status ${t.status ?? '(none yet)'}`)
  console.error(`TIMEOUT after ${HARD_TIMEOUT_MS} ms; still waiting for:\n  ${missing.join('\n  ') || '(nothing?)'}`)
  console.error(`manager: ${JSON.stringify(manager.describe())}`)
  process.exit(1)
}, HARD_TIMEOUT_MS)

// One line per lifecycle event: what happens to each runner process, in order with its output.
manager.onLifecycle((e) => {
  const { id, kind, at, source, ...fields } = e
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
  say(`[${id}] lifecycle ${kind}${rest ? ` ${rest}` : ''}`)
})
say(`SidecarManager demo on ${isBun ? `Bun ${process.versions.bun}` : `Node ${process.version}`}, runners under ${path.join(here, 'runners')}`)
for (const p of plan) {
  track.set(p.id, {
    id: p.id,
    followUp: p.followUp,
    turnsWanted: p.followUp ? 2 : 1,
    turnsDone: 0,
    status: undefined,
    messages: 0,
    lastCost: 0,
    inputTokens: 0,
    outputTokens: 0,
  })
  const r = manager.startSession(p.id, 'claude', p.prompt, p.options)
  if (!r.ok) {
    failure(`startSession(${p.id}): ${r.code} ${r.error}`)
    break
  }
  manager.onMessage(p.id, onMessage)
  manager.onStatus(p.id, onStatus)
  say(`[${p.id}] started: ${JSON.stringify(p.prompt)}${p.options ? ` ${JSON.stringify(p.options)}` : ''}`)
}
