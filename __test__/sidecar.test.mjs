import { describe, it, expect, vi } from 'vitest'
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir, getPriority } from 'node:os'
import { join } from 'node:path'
import {
  SidecarManager, makeManager, collect, recordedPids, isAlive, waitFor,
  untilExited, script, started, stopped, ev, RUNNER_ROOT, FAKE_CLAUDE, NODE, WIN, UNDER_WINE,
} from './helpers.mjs'
import { niceOf } from './proc.mjs'

const turn = (sid, extra = []) => [started(sid), ...extra, stopped(sid)]

describe('session lifecycle', () => {
  it('delivers every status and message in order, to callbacks registered right after startSession', async () => {
    const m = makeManager()
    const steps = turn('s1', [
      ev({ type: 'system', subtype: 'init', uuid: 'i', session_id: 'sdk', model: 'm', cwd: '/w', tools: ['Read'] }),
      ev({ type: 'assistant', uuid: 'a', message: { content: [{ type: 'text', text: 'hello' }] } }),
      ev({ type: 'result', uuid: 'r', total_cost_usd: 0.25, usage: { input_tokens: 3, output_tokens: 4 } }),
    ])
    expect(m.startSession('s1', 'claude', script({ steps: [...steps, { exit: 0 }] }))).toEqual({ ok: true })
    const c = collect(m, 's1')
    await untilExited(m, 's1')
    await c.until((r) => r.statuses.length >= 2, 'statuses')
    expect(c.statuses).toEqual([['running'], ['done']])
    expect(c.messages.map((x) => x.type)).toEqual(['init', 'text', 'cost'])
    expect(c.messages[0]).toMatchObject({ id: 'i', type: 'init', content: { sessionId: 'sdk', model: 'm', cwd: '/w', tools: ['Read'] } })
    expect(c.messages[1]).toMatchObject({ id: 'a-text-0', content: { text: 'hello' } })
    expect(typeof c.messages[1].timestamp).toBe('number')
    const [state] = m.listSessions()
    expect(state).toMatchObject({ sessionId: 's1', provider: 'claude', status: 'done', costUsd: 0.25, inputTokens: 3, outputTokens: 4 })
    expect(Object.keys(state).sort()).toEqual(['costUsd', 'inputTokens', 'outputTokens', 'provider', 'sessionId', 'startedAt', 'status'])
  })

  it('sends the query with the TypeScript manager fields and defaults', async () => {
    const m = makeManager()
    const cwd = mkdtempSync(join(tmpdir(), 'sidecar-cwd-'))
    const opts = { cwd, model: 'opus', maxTurns: 3, extraEnv: { FOO: 'bar', CLAUDE_X: 'no' }, additionalDirectories: [], resumeMode: 'continue' }
    expect(m.startSession('q', 'claude', script({ echoQuery: true, steps: [] }), opts).ok).toBe(true)
    const c = collect(m, 'q')
    await c.until((r) => r.messages.length >= 1, 'query echo')
    expect(c.messages[0].type).toBe('unknown')
    const q = c.messages[0].content.query
    expect(Object.keys(q)).toEqual(['type', 'sessionId', 'prompt', 'cwd', 'model', 'maxTurns', 'permissionMode', 'extraEnv', 'resumeMode'])
    expect(q).toMatchObject({ type: 'query', sessionId: 'q', cwd, model: 'opus', maxTurns: 3, permissionMode: 'bypassPermissions', extraEnv: { FOO: 'bar' }, resumeMode: 'continue' })
  })

  it('a follow-up prompt runs another turn', async () => {
    const m = makeManager()
    expect(m.startSession('f', 'claude', 'first').ok).toBe(true)
    const c = collect(m, 'f')
    await c.until((r) => r.statuses.length === 2, 'first turn')
    expect(m.writePrompt('f', 'second')).toEqual({ ok: true })
    // (No status check here: the runner may finish the turn before the next statement runs.)
    await c.until((r) => r.statuses.length === 4, 'second turn')
    expect(c.statuses).toEqual([['running'], ['done'], ['running'], ['done']])
    const texts = c.messages.filter((x) => x.type === 'text').map((x) => x.content.text)
    expect(texts).toEqual(['echo: first', 'echo: second'])
    expect(m.listSessions()[0]).toMatchObject({ costUsd: 0.5, inputTokens: 20, outputTokens: 40 })
  })

  it('output written just before exit arrives before the final status', async () => {
    const m = makeManager()
    expect(m.startSession('e', 'claude', script({ steps: [started('e'), { flood: 500, bytes: 200, tag: 'e' }, { exit: 0 }] })).ok).toBe(true)
    const c = collect(m, 'e')
    const order = []
    m.onMessage('e', (_, msgs) => order.push(...msgs.map(() => 'm')))
    m.onStatus('e', (_, s) => order.push(s))
    await untilExited(m, 'e')
    await c.until((r) => r.statuses.at(-1)?.[0] === 'done' && r.statuses.length === 2, 'final done')
    expect(c.messages.map((x) => x.content.text.split('|')[0])).toEqual(Array.from({ length: 500 }, (_, i) => `e#${i}`))
    expect(order.at(-1)).toBe('done')
    expect(order.indexOf('done')).toBe(order.length - 1)
  })
})

describe('providers', () => {
  it('codex events map to AgentMessages', async () => {
    const m = makeManager()
    const steps = turn('c', [
      ev({ type: 'thread.started', thread_id: 't1' }),
      ev({ type: 'item.completed', item: { id: 'it1', type: 'agent_message', text: 'hi' } }),
      ev({ type: 'item.completed', item: { id: 'it2', type: 'command_execution', command: 'ls', aggregated_output: 'a\n' } }),
      ev({ type: 'turn.completed', usage: { input_tokens: 7, output_tokens: 9 } }),
    ])
    expect(m.startSession('c', 'codex', script({ steps })).ok).toBe(true)
    const c = collect(m, 'c')
    await c.until((r) => r.statuses.length === 2, 'turn')
    expect(c.messages.map((x) => [x.type, x.id])).toEqual([
      ['init', expect.any(String)], ['text', 'it1'], ['tool_call', 'it2'], ['tool_result', 'it2-result'], ['cost', expect.any(String)],
    ])
    expect(c.messages[2].content).toEqual({ toolUseId: 'it2', name: 'Bash', input: { command: 'ls' } })
    expect(m.listSessions()[0]).toMatchObject({ provider: 'codex', inputTokens: 7, outputTokens: 9, costUsd: 0 })
  })

  it('ollama chunks map to AgentMessages', async () => {
    const m = makeManager()
    const steps = turn('o', [
      ev({ type: 'chunk', message: { thinking: 'hmm', content: 'yes' } }),
      ev({ type: 'chunk', message: { content: '' }, done: true, eval_duration: 2_500_000, prompt_eval_count: 4, eval_count: 6 }),
    ])
    expect(m.startSession('o', 'ollama', script({ steps })).ok).toBe(true)
    const c = collect(m, 'o')
    await c.until((r) => r.statuses.length === 2, 'turn')
    expect(c.messages.map((x) => x.type)).toEqual(['thinking', 'text', 'cost'])
    expect(c.messages[2].content).toEqual({ totalCostUsd: 0, durationMs: 3, inputTokens: 4, outputTokens: 6, numTurns: 1, isError: false })
  })

  it('any other provider id uses its own runner and the claude mapping', async () => {
    const m = makeManager()
    expect(m.startSession('x', 'custom', 'hi').ok).toBe(true)
    const c = collect(m, 'x')
    await c.until((r) => r.statuses.length === 2, 'turn')
    expect(c.messages.map((x) => x.type)).toEqual(['init', 'text', 'cost'])
  })
})

describe('failures return { ok: false } and never throw', () => {
  it('duplicate id, unknown session, bad arguments', () => {
    const m = makeManager()
    expect(m.startSession('d', 'claude', 'x').ok).toBe(true)
    expect(m.startSession('d', 'claude', 'x')).toEqual({ ok: false, error: 'Session already exists', code: 'ERR_SESSION_EXISTS' })
    expect(m.stopSession('nope')).toEqual({ ok: false, error: 'Session not found', code: 'ERR_SESSION_NOT_FOUND' })
    expect(m.writePrompt('nope', 'x')).toEqual({ ok: false, error: 'Session not found', code: 'ERR_SESSION_NOT_FOUND' })
    expect(m.startSession('', 'claude', 'x')).toMatchObject({ ok: false, code: 'ERR_INVALID_ARGUMENT' })
    expect(m.startSession(42, 'claude', 'x')).toMatchObject({ ok: false, code: 'ERR_INVALID_ARGUMENT' })
    expect(m.startSession('o1', 'claude', 'x', { cwd: 5 })).toMatchObject({ ok: false, error: expect.stringContaining('"cwd"') })
    expect(m.startSession('o2', 'claude', 'x', { extraEnv: { A: 1 } })).toMatchObject({ ok: false, error: expect.stringContaining('extraEnv.A') })
    expect(m.listSessions().map((s) => s.sessionId)).toEqual(['d'])
  })

  it('Claude CLI missing, runner not found, cwd missing, spawn failure', () => {
    const noClaude = makeManager({ claudePath: '/nonexistent/claude' })
    expect(noClaude.startSession('a', 'claude', 'x')).toEqual({ ok: false, error: 'Claude CLI not found. Install Claude Code first.', code: 'ERR_CLAUDE_NOT_FOUND' })
    expect(noClaude.startSession('b', 'codex', 'x').ok).toBe(true)
    const m = makeManager()
    expect(m.startSession('r', 'nosuch', 'x')).toEqual({
      ok: false, code: 'ERR_RUNNER_NOT_FOUND', error: `Runner not found: ${join(RUNNER_ROOT, 'sidecar', 'dist', 'nosuch-runner.mjs')}`,
    })
    expect(m.startSession('w', 'claude', 'x', { cwd: '/nonexistent/dir' })).toEqual({ ok: false, error: 'Working directory not found: /nonexistent/dir', code: 'ERR_CWD_NOT_FOUND' })
    const bad = makeManager({ runtime: '/nonexistent/node' })
    const r = bad.startSession('s', 'claude', 'x')
    expect(r).toMatchObject({ ok: false, code: 'ERR_SPAWN_FAILED' })
    expect(r.error).toContain('/nonexistent/node')
    // The OS's error: ENOENT; on Windows ERROR_FILE_NOT_FOUND (2) or ERROR_PATH_NOT_FOUND (3),
    // whose wording differs between Windows and Wine ("Path not found.").
    expect(r.error).toMatch(WIN ? /\(os error [23]\)/ : /No such file or directory/)
    expect(bad.listSessions()).toEqual([])
  })

  it('constructor options are validated with a TypeError naming the option', () => {
    expect(() => new SidecarManager({ stopGraceMs: -1 })).toThrow(TypeError)
    expect(() => new SidecarManager({ stopGraceMs: -1 })).toThrow(/stopGraceMs/)
    expect(() => new SidecarManager({ maxLineBytes: NaN })).toThrow(/maxLineBytes/)
    expect(() => new SidecarManager({ runtime: 3 })).toThrow(/runtime/)
    expect(() => new SidecarManager({ runnerRoot: [] })).toThrow(/runnerRoot/)
    expect(() => new SidecarManager({ maxLineBytes: 100, maxPendingBytes: 10 })).toThrow(/maxPendingBytes/)
    expect(() => new SidecarManager({ maxLineBytes: 256 * 1024 * 1024 + 1, maxPendingBytes: 2 ** 40 })).toThrow(/maxLineBytes.*at most/)
    expect(() => new SidecarManager({ maxLineBytes: 256 * 1024 * 1024, maxPendingBytes: 2 ** 30 })).not.toThrow()
    expect(() => new SidecarManager('x')).toThrow(TypeError)
    for (const bad of [-1, 20, 1.5, '5', null]) {
      expect(() => new SidecarManager({ runnerNice: bad })).toThrow(/runnerNice/)
    }
  })

  it('callbacks for unknown sessions are ignored', () => {
    const m = makeManager()
    expect(() => m.onMessage('ghost', () => {})).not.toThrow()
    expect(() => m.onStatus('ghost', () => {})).not.toThrow()
    expect(() => m.removeSession('ghost')).not.toThrow()
  })
})

describe('long texts', () => {
  it('arrive whole and in order: ASCII and UTF-8, text and thinking, beside short messages', async () => {
    const m = makeManager()
    const big = (ch, n) => ch.repeat(n)
    const escaped = big('a line with "quotes", a \\ and a tab\t\n', 2000)
    const texts = [big('a', 16 * 1024), big('é', 40_000), big('z', 3 * 1024 * 1024), 'short', big('q', 16 * 1024 - 1), escaped]
    const blocks = (i) => [
      { type: 'text', text: texts[i % texts.length] },
      { type: 'thinking', thinking: texts[(i + 1) % texts.length] },
      { type: 'tool_use', id: `t${i}`, name: 'Read', input: { n: i } },
    ]
    const events = Array.from({ length: 12 }, (_, i) => [
      ev({ type: 'assistant', uuid: `u${i}`, message: { content: blocks(i) } }),
      // A tool's output: a long string travels beside the JSON too, an array of blocks does not.
      ev({ type: 'user', uuid: `r${i}`, message: { content: [
        { type: 'tool_result', tool_use_id: `t${i}`, content: texts[(i + 2) % texts.length] },
        { type: 'tool_result', tool_use_id: `t${i}b`, content: [{ type: 'text', text: texts[(i + 3) % texts.length] }] },
      ] } }),
    ]).flat()
    expect(m.startSession('long', 'claude', script({ steps: turn('long', events) })).ok).toBe(true)
    const c = collect(m, 'long')
    await c.until((r) => r.statuses.length === 2, 'turn', 20_000)
    expect(c.messages).toHaveLength(60)
    for (let i = 0; i < 12; i++) {
      const [text, thinking, tool, result, resultBlocks] = c.messages.slice(5 * i, 5 * i + 5)
      expect(text).toMatchObject({ id: `u${i}-text-0`, type: 'text' })
      expect(text.content.text === texts[i % texts.length]).toBe(true)
      expect(Object.keys(text)).toEqual(['id', 'type', 'content', 'timestamp'])
      expect(thinking).toMatchObject({ id: `u${i}-thinking-1`, type: 'thinking' })
      expect(thinking.content.text === texts[(i + 1) % texts.length]).toBe(true)
      expect(tool).toMatchObject({ id: `u${i}-tool-2`, type: 'tool_call', content: { toolUseId: `t${i}`, input: { n: i } } })
      expect(result).toMatchObject({ id: `r${i}-result-0`, type: 'tool_result', content: { toolUseId: `t${i}` } })
      expect(result.content.output === texts[(i + 2) % texts.length]).toBe(true)
      expect(Object.keys(result.content)).toEqual(['toolUseId', 'output'])
      expect(resultBlocks.content.output[0].text === texts[(i + 3) % texts.length]).toBe(true)
    }
  })
})

describe('runner priority', () => {
  // Only Linux has a per-thread nice value to give the spawner thread; on Windows runnerNice is
  // a priority class for the runner's job (src/process/windows/priority.rs: 1–9 below normal,
  // 10–19 idle, which os.getPriority reads as 10 and 19); elsewhere runnerNice is documented to
  // do nothing (README, Platforms). Lowering it must never lower the app.
  const lowers = process.platform === 'linux'
  const byClass = (app, steps) => (steps === 0 ? app : steps < 10 ? 10 : 19)
  const title = lowers
    ? 'runners and their children run runnerNice steps below the app (default 10)'
    : WIN
      ? 'runners and their children run at the priority class runnerNice maps to (default 10: idle)'
      : `runnerNice does nothing on ${process.platform}: runners and their children keep the app's priority`
  it(title, async () => {
    const app = getPriority()
    for (const [opts, steps] of [[{}, 10], [{ runnerNice: 0 }, 0], [{ runnerNice: 3 }, 3], [{ runnerNice: 19 }, 19]]) {
      const m = makeManager(opts)
      const id = `nice${steps}`
      const earlier = new Set(recordedPids())
      const mine = () => recordedPids().filter((p) => !earlier.has(p))
      expect(m.startSession(id, 'claude', script({ grandchild: true, steps: turn(id) })).ok).toBe(true)
      const c = collect(m, id)
      await c.until((r) => r.statuses.length === 2, 'turn')
      await waitFor(() => mine().length === 2, 'runner and grandchild pids')
      const { pid: runner } = m.getSession(id)
      const grandchild = mine().find((p) => p !== runner)
      const want = lowers ? Math.min(app + steps, 19) : WIN ? byClass(app, steps) : app
      if (UNDER_WINE) {
        // Wine 8 ignores a job's JOB_OBJECT_LIMIT_PRIORITY_CLASS, which is what holds the
        // runner's children at its class on Windows: only the runner's own class is checked.
        expect(niceOf(runner)).toBe(want)
      } else {
        expect([niceOf(runner), niceOf(grandchild)]).toEqual([want, want])
      }
      m.removeSession(id)
      await waitFor(() => !isAlive(runner) && !isAlive(grandchild), 'runner and grandchild gone', 5000)
    }
    // The app itself keeps its priority.
    expect(getPriority()).toBe(app)
  })
})

describe('bad output from the runner', () => {
  it('an oversized line is dropped alone and reported; the lines around it arrive', async () => {
    const m = makeManager({ maxLineBytes: 64 * 1024 })
    const text = (t) => ev({ type: 'assistant', uuid: t, message: { content: [{ type: 'text', text: t }] } })
    const steps = turn('big', [text('before'), { bigLine: 200 * 1024 }, text('after')])
    expect(m.startSession('big', 'claude', script({ steps })).ok).toBe(true)
    const c = collect(m, 'big')
    await c.until((r) => r.statuses.length === 2, 'turn')
    expect(c.messages.map((x) => x.type)).toEqual(['text', 'error', 'text'])
    expect(c.messages[1].content.message).toMatch(/204800 bytes exceeds maxLineBytes/)
    expect(c.messages[2].content.text).toBe('after')
    expect(m.getSession('big').droppedLines).toBe(1)
  })

  it('a line of exactly 10 MB passes with the default cap, one byte more is dropped', async () => {
    const m = makeManager()
    const cap = 10 * 1024 * 1024
    const prefix = '{"type":"x","p":"'
    const fill = (n) => ({ line: prefix + 'a'.repeat(n - prefix.length - 2) + '"}' })
    const steps = turn('cap', [fill(cap), fill(cap + 1)])
    expect(m.startSession('cap', 'claude', script({ steps })).ok).toBe(true)
    const c = collect(m, 'cap')
    await c.until((r) => r.statuses.length === 2, 'turn', 20_000)
    expect(c.messages.map((x) => x.type)).toEqual(['unknown', 'error'])
    expect(c.messages[0].content.p.length).toBe(cap - prefix.length - 2)
    expect(c.messages[1].content.message).toContain(`${cap + 1} bytes`)
  })

  it('garbage lines are reported and skipped', async () => {
    const m = makeManager()
    const good = ev({ type: 'assistant', uuid: 'g', message: { content: [{ type: 'text', text: 'ok' }] } })
    const steps = turn('g', [
      { line: 'not json at all' },
      { hex: '00ff10fe0a' },
      { hex: '7b2274797065223a2261737369737461e2ff6e74227d0a' }, // invalid UTF-8 inside a string
      { line: '[1,2,3]' },
      { line: '42' },
      { line: 'null' },
      { line: '"str"' },
      { line: '{"unterminated": ' },
      good,
    ])
    expect(m.startSession('g', 'claude', script({ steps })).ok).toBe(true)
    const c = collect(m, 'g')
    await c.until((r) => r.statuses.length === 2, 'turn')
    expect(c.messages.map((x) => x.type)).toEqual([...Array(8).fill('error'), 'text'])
    expect(c.messages[0].content.message).toMatch(/Invalid JSON/)
    expect(c.messages[3].content.message).toMatch(/not a JSON object \(array\)/)
    expect(c.messages[8].content.text).toBe('ok')
    expect(m.getSession('g').droppedLines).toBe(8)
  })
})

describe('crashes, stop and remove', () => {
  it('a runner exiting with code 3 ends in error "Exit code: 3"', async () => {
    const m = makeManager()
    expect(m.startSession('x3', 'claude', script({ steps: [started('x3'), { exit: 3 }] })).ok).toBe(true)
    const c = collect(m, 'x3')
    await c.until((r) => r.statuses.length === 2, 'exit')
    expect(c.statuses).toEqual([['running'], ['error', 'Exit code: 3']])
    expect(m.getSession('x3')).toMatchObject({ exitCode: 3, signal: null, status: 'error' })
  })

  it('a runner killed by SIGKILL ends in error naming the signal', async () => {
    const m = makeManager()
    expect(m.startSession('k', 'claude', script({ steps: [started('k'), { signal: 'SIGKILL' }] })).ok).toBe(true)
    const c = collect(m, 'k')
    await c.until((r) => r.statuses.length === 2, 'exit')
    if (WIN) {
      // No signals on Windows: Node's process.kill(pid, 'SIGKILL') is TerminateProcess(h, 1).
      expect(c.statuses[1]).toEqual(['error', 'Exit code: 1'])
      expect(m.getSession('k')).toMatchObject({ exitCode: 1, signal: null })
      return
    }
    expect(c.statuses[1]).toEqual(['error', 'Terminated by signal SIGKILL'])
    expect(m.getSession('k')).toMatchObject({ exitCode: null, signal: 'SIGKILL' })
  })

  it('a runner ignoring stop and SIGTERM is killed with its grandchild; status done', async () => {
    const m = makeManager({ stopGraceMs: 200, killGraceMs: 200 })
    const cfg = { grandchild: true, ignoreStop: true, ignoreSigterm: true, ignoreStdinEnd: true, steps: turn('st') }
    expect(m.startSession('st', 'claude', script(cfg)).ok).toBe(true)
    const c = collect(m, 'st')
    await c.until((r) => r.statuses.length === 1, 'running')
    await waitFor(() => recordedPids().length === 2, 'grandchild pid recorded')
    const pids = recordedPids()
    const t0 = Date.now()
    expect(m.stopSession('st')).toEqual({ ok: true })
    await c.until((r) => r.statuses.at(-1)?.[0] === 'done', 'final done')
    // done comes with the exit: grace + kill grace, plus slack for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(200 + 200 + 2000)
    const info = await untilExited(m, 'st')
    // Windows: the job was terminated (exit code 1); there are no signals.
    if (WIN) expect(info).toMatchObject({ exitCode: 1, signal: null })
    else expect(info.signal).toBe('SIGKILL')
    expect(c.statuses.filter((s) => s[0] !== 'running')).toEqual([['done']])
    await waitFor(() => pids.every((p) => !isAlive(p)), 'runner and grandchild dead', 5000)
  })

  it('stop after a finished turn still ends the runner', async () => {
    const m = makeManager({ stopGraceMs: 100, killGraceMs: 100 })
    const cfg = { ignoreStop: true, ignoreStdinEnd: true, steps: turn('idle') }
    expect(m.startSession('idle', 'claude', script(cfg)).ok).toBe(true)
    const c = collect(m, 'idle')
    await c.until((r) => r.statuses.length === 2, 'turn done')
    expect(m.stopSession('idle').ok).toBe(true)
    await untilExited(m, 'idle')
    expect(c.statuses).toEqual([['running'], ['done']])
    expect(recordedPids().filter(isAlive)).toEqual([])
  })

  it('removeSession ends a live runner and silences its callbacks', async () => {
    const m = makeManager({ killGraceMs: 200 })
    const cfg = { grandchild: true, ignoreStdinEnd: true, steps: [started('rm'), { sleep: 100 }, { flood: 100000, bytes: 100 }] }
    expect(m.startSession('rm', 'claude', script(cfg)).ok).toBe(true)
    const c = collect(m, 'rm')
    await c.until((r) => r.messages.length > 0, 'first messages')
    await waitFor(() => recordedPids().length === 2, 'pids')
    const pids = recordedPids()
    m.removeSession('rm')
    const seen = c.messages.length + c.statuses.length
    expect(m.listSessions()).toEqual([])
    expect(m.getSession('rm')).toBe(null)
    await waitFor(() => pids.every((p) => !isAlive(p)), 'runner and grandchild dead', 5000)
    await new Promise((r) => setImmediate(r))
    expect(c.messages.length + c.statuses.length).toBe(seen)
    // The id is free again and the new session only sees its own output.
    expect(m.startSession('rm', 'claude', 'again').ok).toBe(true)
    const c2 = collect(m, 'rm')
    await c2.until((r) => r.statuses.length === 2, 'new turn')
    expect(c2.messages.map((x) => x.type)).toEqual(['init', 'text', 'cost'])
  })

  it('finished sessions are removed after the cleanup grace', async () => {
    const m = makeManager({ cleanupGraceMs: 100 })
    expect(m.startSession('cl', 'claude', script({ steps: [{ exit: 0 }] })).ok).toBe(true)
    await waitFor(() => m.listSessions().length === 0, 'cleanup', 5000)
    expect(m.stopSession('cl')).toMatchObject({ ok: false, error: 'Session not found' })
  })
})

describe('isolation', () => {
  it('two concurrent sessions never mix messages', async () => {
    const m = makeManager()
    const n = 3000
    for (const id of ['A', 'B']) {
      expect(m.startSession(id, 'claude', script({ steps: turn(id, [{ flood: n, bytes: 150, tag: id }]) })).ok).toBe(true)
    }
    const ca = collect(m, 'A')
    const cb = collect(m, 'B')
    await ca.until((r) => r.statuses.length === 2, 'A done')
    await cb.until((r) => r.statuses.length === 2, 'B done')
    for (const [id, c] of [['A', ca], ['B', cb]]) {
      expect(c.messages.map((x) => x.content.text.split('|')[0])).toEqual(Array.from({ length: n }, (_, i) => `${id}#${i}`))
    }
  })

  it('a callback that throws is isolated: other callbacks still run', async () => {
    const m = makeManager()
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      expect(m.startSession('t', 'claude', 'hi').ok).toBe(true)
      m.onMessage('t', () => {
        throw new Error('boom in onMessage')
      })
      m.onStatus('t', () => {
        throw new Error('boom in onStatus')
      })
      const c = collect(m, 't')
      await c.until((r) => r.statuses.length === 2, 'turn')
      expect(c.messages.length).toBe(3)
      const logged = errors.mock.calls.map((a) => String(a[1] ?? a[0]))
      expect(logged.some((l) => l.includes('boom in onMessage'))).toBe(true)
      expect(logged.some((l) => l.includes('boom in onStatus'))).toBe(true)
    } finally {
      errors.mockRestore()
    }
  })
})
