// Terminal sessions through the public API, on Node and on Bun (the same file runs on both).
import { describe, it, expect, afterEach } from 'vitest'
import { makeManager, collect, script, started, stopped, waitFor, isAlive, sessionMembers, NODE, WIN } from './helpers.mjs'
import { fdTargets, fdCount, threadCount } from './proc.mjs'

// Tests skipped on Windows, each for the reason next to it. Most terminal tests here drive
// POSIX shells (sh, bash, cat, stty) and check exact bytes; on Windows ConPTY re-renders a
// program's output as VT sequences, and under Wine 8 programs in a pseudo console print
// nothing without a launcher (scripts/wine/conpty-launcher.c). __test__/windows.test.mjs
// covers ConPTY output, input and exit on Windows.
const UNIX_ONLY = WIN
/** Ended by its kill/close/dispose: a signal on Unix; on Windows the job is terminated (exit 1). */
const ended = (signal) => (WIN ? { exitCode: 1, signal: null } : { exitCode: null, signal })
/** A program that idles until it is ended: `sh` printing `word` first, or on Windows (no sh) Node. */
const idling = (word) => (WIN ? { command: NODE, args: ['-e', 'setInterval(() => {}, 1e9)'] } : sh(`echo ${word}; exec sleep 60`))
/** Resolves once an `idling(word)` program runs: its word printed (Unix), its pid known (Windows). */
const running = (r, word) => (WIN ? waitFor(() => r.t.pid > 0, `${word}: pid`) : r.until((t) => t.includes(word), word))

/** Session ids of terminals opened by the current test: none may have a process left after it. */
const sessions = new Set()

/**
 * Live processes of a terminal's session. Windows has no sessions and no process list to read
 * (no /proc or ps; tasklist prints nothing under Wine 8): there, the terminal's own program,
 * whose children the product ends with its Job Object.
 */
const leftOf = (sid) => (WIN ? [sid].filter(isAlive) : sessionMembers(sid))

afterEach(async () => {
  const left = []
  for (const sid of sessions) {
    try {
      await waitFor(() => leftOf(sid).length === 0, `session ${sid} gone`, 5_000)
    } catch {
      for (const pid of leftOf(sid)) {
        left.push(pid)
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
    }
  }
  sessions.clear()
  expect(left, 'processes of a terminal session left alive').toEqual([])
})

/** Opens a terminal and records its output, states and exit. */
function open(m, id, options) {
  const t = m.openTerminal(id, options)
  const rec = { t, text: '', chunks: [], states: [], exit: null, dataAfterExit: 0 }
  t.onData((d) => {
    if (rec.exit) rec.dataAfterExit++
    rec.chunks.push(d)
    rec.text += typeof d === 'string' ? d : Buffer.from(d).toString('latin1')
  })
  t.onState((s) => rec.states.push(s))
  rec.exited = new Promise((resolve) => t.onExit((e) => resolve((rec.exit = e))))
  rec.until = (pred, what, ms = 10_000) => waitFor(() => pred(rec.text), what, ms, 5)
  waitFor(() => t.pid > 0, 'pid', 5_000).then((pid) => sessions.add(pid), () => {})
  return rec
}

function sh(cmd, extra = {}) {
  return { command: '/bin/sh', args: ['-c', cmd], ...extra }
}

describe('terminals: exit after drain', () => {
  // Skipped on Windows: sh script; exact output bytes (ConPTY re-renders them).
  it.skipIf(UNIX_ONLY)('reports the exact code after the last output', async () => {
    const m = makeManager()
    const r = open(m, 't', sh('printf "out put"; exit 3'))
    expect(await r.exited).toEqual({ exitCode: 3, signal: null })
    expect(r.text).toBe('out put')
    expect(r.dataAfterExit).toBe(0)
  })

  // Skipped on Windows: POSIX signals.
  it.skipIf(UNIX_ONLY)('reports a signal death by name with exitCode null', async () => {
    const m = makeManager()
    const r = open(m, 't', sh('kill -9 $$'))
    expect(await r.exited).toEqual({ exitCode: null, signal: 'SIGKILL' })
  })

  // Skipped on Windows: sh script, process groups and SIGHUP.
  it.skipIf(UNIX_ONLY)('delivers what a background job still holding the tty writes after the leader exited', async () => {
    const m = makeManager()
    const r = open(m, 't', sh("trap '' HUP; (sleep 0.3; printf late) & printf early; exit 0"))
    expect(await r.exited).toEqual({ exitCode: 0, signal: null })
    expect(r.text).toBe('earlylate')
  })

  it('close() resolves with the exit, idempotently, and onExit after exit is still called', async () => {
    const m = makeManager()
    const r = open(m, 't', idling('ready'))
    await running(r, 'ready')
    const a = r.t.close()
    expect(r.t.close()).toBe(a)
    expect(await a).toEqual(ended('SIGHUP'))
    const late = await new Promise((resolve) => r.t.onExit(resolve))
    expect(late).toEqual(ended('SIGHUP'))
    expect(r.t.write('x')).toBe(false)
    r.t.resize(10, 10) // a no-op after exit
    expect(r.t.info()).toMatchObject({ alive: false, ...ended('SIGHUP') })
  })
})

describe('terminals: the PTY and its environment', () => {
  // Skipped on Windows: sh, tty and stty: /dev/pts.
  it.skipIf(UNIX_ONLY)('sets TERM, removes COLUMNS/LINES, applies env over the host and runs in cwd', async () => {
    const m = makeManager()
    process.env.COLUMNS = '5'
    process.env.SIDECAR_TERM_DROP = 'x'
    let r
    try {
      r = open(m, 't', sh('tty; stty size; echo "T=$TERM C=$COLUMNS L=$LINES A=$A D=$SIDECAR_TERM_DROP P=$(pwd)"', { env: { A: '1', SIDECAR_TERM_DROP: null }, cwd: '/usr', cols: 100, rows: 30 }))
    } finally {
      delete process.env.COLUMNS
      delete process.env.SIDECAR_TERM_DROP
    }
    await r.exited
    expect(r.text).toMatch(/\/dev\/pts\/\d+/)
    expect(r.text).toContain('30 100')
    expect(r.text).toContain('T=xterm-256color C= L= A=1 D= P=/usr')
  })

  // Skipped on Windows: sh script; exact output bytes (ConPTY re-renders them).
  it.skipIf(UNIX_ONLY)('encoding null gives Uint8Arrays', async () => {
    const m = makeManager()
    const r = open(m, 't', sh("printf '\\001\\002\\377'", { encoding: null }))
    await r.exited
    expect(r.chunks.every((c) => c instanceof Uint8Array)).toBe(true)
    expect([...Buffer.concat(r.chunks.map((c) => Buffer.from(c)))]).toEqual([1, 2, 255])
  })

  // Skipped on Windows: sh script; exact output bytes (ConPTY re-renders them).
  it.skipIf(UNIX_ONLY)('a character written one byte at a time arrives whole; invalid bytes become U+FFFD', async () => {
    const m = makeManager()
    const r = open(m, 't', sh("printf '\\342'; sleep 0.1; printf '\\202'; sleep 0.1; printf '\\254 \\377!'"))
    await r.exited
    expect(r.text).toBe('€ \uFFFD!')
    expect(r.text).toBe(new TextDecoder().decode(Buffer.from([0xe2, 0x82, 0xac, 0x20, 0xff, 0x21])))
  })

  // Skipped on Windows: descriptors of another process: /proc.
  it.skipIf(UNIX_ONLY)('the master is not inherited by an agent runner started afterwards', async () => {
    const m = makeManager()
    const r = open(m, 't', sh('echo ready; exec sleep 60'))
    await r.until((t) => t.includes('ready'), 'ready')
    expect(m.startSession('s', 'claude', script({ steps: [started('s'), { sleep: 5000 }, stopped('s')] }))).toEqual({ ok: true })
    const rec = collect(m, 's')
    await rec.untilStatus('running')
    const pid = await waitFor(() => m.getSession('s').pid, 'runner pid')
    // A master is /dev/ptmx on both systems; slaves are /dev/pts/N on Linux, /dev/ttysN on macOS.
    const pty = (t) => t.includes('ptmx') || t.includes('/dev/pts') || (process.platform === 'darwin' && t.startsWith('/dev/ttys'))
    expect(fdTargets(pid).filter(pty)).toEqual([])
    m.removeSession('s')
    r.t.kill()
    await r.exited
  })
})

describe('terminals: input, resize, interrupt', () => {
  // Skipped on Windows: cat; foreground is null on Windows.
  it.skipIf(UNIX_ONLY)('echoes a keystroke through cat without waiting for a batch', async () => {
    const m = makeManager()
    const r = open(m, 't', { command: 'cat' })
    await waitFor(() => r.t.info().foreground === 'cat', 'cat in the foreground')
    expect(r.t.write('a')).toBe(true)
    await r.until((t) => t.includes('a'), 'echo of a')
    // End of line, then end of input.
    r.t.write('\n\x04')
    expect(await r.exited).toEqual({ exitCode: 0, signal: null })
  })

  // Skipped on Windows: POSIX signals (SIGWINCH) and stty; resize is E_NOTIMPL under Wine 8.
  it.skipIf(UNIX_ONLY)('resize is seen by stty and raises SIGWINCH', async () => {
    const m = makeManager()
    const r = open(m, 't', sh("trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done"))
    await r.until((t) => t.includes('ready'), 'ready')
    r.t.resize(132, 43)
    await r.until((t) => t.includes('43 132'), 'new size')
    expect([r.t.cols, r.t.rows]).toEqual([132, 43])
    expect(() => r.t.resize(0, 10)).toThrow(TypeError)
    expect(() => r.t.resize(10.5, 10)).toThrow(TypeError)
    r.t.kill()
    await r.exited
  })

  // Skipped on Windows: bash; foreground is null on Windows.
  it.skipIf(UNIX_ONLY)('Ctrl-C interrupts sleep in an interactive bash, which goes on', async () => {
    const m = makeManager()
    const r = open(m, 't', { command: 'bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } })
    r.t.write('sleep 100\n')
    await waitFor(() => r.t.info().foreground === 'sleep', 'sleep in the foreground')
    r.t.write('\x03')
    r.t.write('echo after-$((40+2))\n')
    await r.until((t) => t.includes('after-42'), 'the shell after Ctrl-C')
    r.t.write('exit 5\n')
    expect(await r.exited).toEqual({ exitCode: 5, signal: null })
  })
})

describe('terminals: kill reaches the whole session', () => {
  // Skipped on Windows: bash, process groups, SIGHUP; session members through /proc.
  it.skipIf(UNIX_ONLY)('kill() ends a background job in its own group that ignores SIGHUP', async () => {
    const m = makeManager()
    const r = open(m, 't', { command: 'bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } })
    r.t.write("(trap '' HUP; exec sleep 1000) & echo job=$!x\n")
    await r.until((t) => /job=\d+x/.test(t), 'job pid')
    const job = Number(/job=(\d+)x/.exec(r.text)[1])
    const sid = r.t.pid
    expect(sessionMembers(sid)).toContain(job)
    r.t.kill()
    await r.exited
    await waitFor(() => !isAlive(job), 'the job gone')
    expect(sessionMembers(sid)).toEqual([])
  })

  it('dispose() ends every terminal and describe() lists them until then', async () => {
    const m = makeManager()
    // Windows: no SIGHUP to ignore; both idle in Node and both jobs are terminated.
    const a = open(m, 'a', WIN ? idling('up') : sh("trap '' HUP; echo up; exec sleep 1000"))
    const b = open(m, 'b', WIN ? idling('up') : sh('echo up; exec sleep 1000'))
    await running(a, 'up')
    await running(b, 'up')
    expect(m.getTerminal('a')).toBe(a.t)
    expect(m.describe().terminals.map((t) => [t.id, t.alive])).toEqual([['a', true], ['b', true]])
    await m.dispose()
    expect(a.exit).toEqual(ended('SIGKILL'))
    expect(b.exit).toEqual(ended('SIGHUP'))
    expect(m.getTerminal('a')).toBe(null)
    expect(() => m.openTerminal('c', {})).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }))
  })
})

describe('terminals: flow', () => {
  // Skipped on Windows: sh pipeline; exact output bytes (ConPTY re-renders them).
  it.skipIf(UNIX_ONLY)('a deliberately slow consumer gets a flood complete and in order, with bounded read-ahead', async () => {
    const m = makeManager({ maxPendingBytes: 1 << 20, maxLineBytes: 1 << 20 })
    const t = m.openTerminal('t', sh('head -c 6000000 /dev/zero | base64 -w0; printf END', { encoding: null }))
    let got = 0
    let ok = true
    let maxAhead = 0
    t.onData((d) => {
      for (let i = 0; i < d.length; i++) if (d[i] !== 0x41 && got + i < 8_000_000) ok = false
      got += d.length
      maxAhead = Math.max(maxAhead, t.info().bytesIn - got)
      const end = Date.now() + 5
      while (Date.now() < end) {}
    })
    const exit = await new Promise((resolve) => t.onExit(resolve))
    waitFor(() => t.pid > 0, 'pid').then((pid) => sessions.add(pid))
    expect(exit).toEqual({ exitCode: 0, signal: null })
    expect(got).toBe(8_000_003)
    expect(ok).toBe(true)
    // Undelivered bytes never exceed maxPendingBytes plus one read.
    expect(maxAhead).toBeLessThanOrEqual((1 << 20) + 64 * 1024)
  })

  // Skipped on Windows: sh script.
  it.skipIf(UNIX_ONLY)('pause() stops reading (the program blocks) and resume() goes on', async () => {
    const m = makeManager()
    const r = open(m, 't', sh('echo first; sleep 0.2; head -c 300000 /dev/zero | base64 -w0; echo; echo last'))
    await r.until((t) => t.includes('first'), 'first')
    r.t.pause()
    await new Promise((res) => setTimeout(res, 600))
    const before = r.t.info().bytesIn
    await new Promise((res) => setTimeout(res, 300))
    expect(r.t.info().bytesIn).toBe(before)
    expect(r.t.info().alive).toBe(true)
    r.t.resume()
    await r.exited
    expect(r.text).toContain('last')
  })

  // Skipped on Windows: sh script.
  it.skipIf(UNIX_ONLY)('idle after idleMs without output, active on the next, never repeated', async () => {
    const m = makeManager()
    const r = open(m, 't', sh('printf a; sleep 0.5; printf b; sleep 0.5', { idleMs: 150 }))
    await r.exited
    expect(r.states).toEqual(['idle', 'active', 'idle'])
  })

  // Skipped on Windows: sh script; exact output bytes (ConPTY re-renders them).
  it.skipIf(UNIX_ONLY)('scrollback holds the latest output from a character boundary', async () => {
    const m = makeManager()
    const r = open(m, 't', sh('printf "0123456789€x"', { scrollbackBytes: 5 }))
    await r.exited
    // The last 5 bytes are "9€x" (1 + 3 + 1).
    expect(r.t.scrollback()).toBe('9€x')
  })
})

describe('terminals: refusals', () => {
  it('bad input throws with a code and starts nothing', () => {
    const m = makeManager()
    const err = (fn) => {
      try {
        fn()
      } catch (e) {
        return [e.constructor.name, e.code, e.message]
      }
      return null
    }
    expect(err(() => m.openTerminal('x', { command: 'no-such-program-anywhere' }))).toEqual(['Error', 'ERR_SPAWN_FAILED', expect.stringContaining('no-such-program-anywhere')])
    expect(err(() => m.openTerminal('x', { cwd: '/no/such/folder' }))).toEqual(['Error', 'ERR_CWD_NOT_FOUND', expect.stringContaining('/no/such/folder')])
    expect(err(() => m.openTerminal('', {}))).toEqual(['TypeError', 'ERR_INVALID_ARGUMENT', expect.any(String)])
    expect(err(() => m.openTerminal('x', { cols: 0 }))).toEqual(['TypeError', 'ERR_INVALID_ARGUMENT', expect.stringContaining('cols')])
    expect(err(() => m.openTerminal('x', { encoding: 'latin1' }))).toEqual(['TypeError', 'ERR_INVALID_ARGUMENT', expect.stringContaining('encoding')])
    expect(err(() => m.openTerminal('x', { env: { A: 1 } }))).toEqual(['TypeError', 'ERR_INVALID_ARGUMENT', expect.stringContaining('env.A')])
    expect(m.listTerminals()).toEqual([])
  })

  it('an id in use by a live terminal is refused; the same object comes back from getTerminal', async () => {
    const m = makeManager()
    const r = open(m, 't', idling('up'))
    expect(() => m.openTerminal('t', sh('true'))).toThrow(expect.objectContaining({ code: 'ERR_TERMINAL_EXISTS' }))
    expect(m.getTerminal('t')).toBe(r.t)
    expect(m.getTerminal('nope')).toBe(null)
    expect(r.t.write(42)).toBe(false)
    expect(() => r.t.kill('SIGNOPE')).toThrow(TypeError)
    // Windows accepts only SIGTERM, SIGHUP and SIGKILL, each terminating the job.
    if (WIN) expect(() => r.t.kill('SIGINT')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    r.t.kill('SIGTERM')
    expect(await r.exited).toEqual(ended('SIGTERM'))
  })

  // Skipped on Windows: sh script; exact output bytes (ConPTY re-renders them).
  it.skipIf(UNIX_ONLY)('a callback that throws is reported and the others still run', async () => {
    const m = makeManager()
    const t = m.openTerminal('t', sh('printf hi'))
    const seen = []
    const errors = []
    const orig = console.error
    console.error = (...a) => errors.push(a.join(' '))
    try {
      t.onData(() => {
        throw new Error('boom')
      })
      t.onData((d) => seen.push(d))
      await new Promise((resolve) => t.onExit(resolve))
    } finally {
      console.error = orig
    }
    expect(seen.join('')).toBe('hi')
    expect(errors.some((e) => e.includes('boom'))).toBe(true)
  })
})

describe('terminals: scale', () => {
  // Skipped on Windows: descriptor and thread counts: /proc or ps.
  it.skipIf(UNIX_ONLY)('200 open terminals: no thread per terminal, at most 3 descriptors each, all back after closing', async () => {
    const m = makeManager()
    // Warm up: the runtime's threads and the spawner exist before the baseline is taken.
    const warm = m.openTerminal('warm', sh('exit 0'))
    await new Promise((resolve) => warm.onExit(resolve))
    const fds0 = fdCount()
    const threads0 = threadCount()
    const terms = []
    for (let i = 0; i < 200; i++) terms.push(m.openTerminal(`t${i}`, sh('echo up; exec sleep 60')))
    await waitFor(() => terms.every((t) => t.pid > 0 && t.info().bytesIn > 0), 'all 200 running', 30_000)
    for (const t of terms) sessions.add(t.pid)
    const fds = fdCount() - fds0
    const threads = threadCount() - threads0
    await Promise.all(terms.map((t) => t.close()))
    await waitFor(() => fdCount() <= fds0, 'descriptors back', 10_000)
    expect(fds / 200).toBeLessThanOrEqual(3)
    expect(threads).toBeLessThanOrEqual(2)
    expect(threadCount()).toBeLessThanOrEqual(threads0 + 2)
  })
})

describe('examples/terminal.mjs', () => {
  // Skipped on Windows: runs /bin/sh as the inner shell.
  it.skipIf(UNIX_ONLY)('runs a shell in the current terminal, detaches, re-attaches with the scrollback, ends with the shell', async () => {
    // The example itself runs inside one of our terminals, which plays the user's terminal.
    const m = makeManager()
    const r = open(m, 'user', {
      command: process.execPath,
      args: [new URL('../examples/terminal.mjs', import.meta.url).pathname],
      env: { SHELL: '/bin/sh', PS1: 'demo$ ' },
    })
    await r.until((t) => t.includes('demo$ '), 'the inner prompt')
    r.t.write('echo inner-$((6*7))\r')
    await r.until((t) => t.includes('inner-42'), 'inner output')
    r.t.write('\x1d')
    await r.until((t) => t.includes('[detached:'), 'detached')
    const mark = r.text.length
    r.t.write('\r')
    await r.until((t) => t.slice(mark).includes('inner-42'), 'scrollback replayed on re-attach')
    r.t.write('exit 0\r')
    await r.until((t) => t.includes('[shell ended: exit code 0]'), 'the example reports the end')
    expect(await r.exited).toEqual({ exitCode: 0, signal: null })
  })
})
