'use strict'
// Public entry point: the drop-in `SidecarManager` class over the native core.
//
// This wrapper only does what must happen on the JS thread: argument checks that name the
// bad option, the per-session callback lists (so a callback that throws is isolated and
// cannot reach the addon), keeping the event loop alive exactly while runner processes are
// alive, and the process-exit hook. Everything else is in Rust (src/).

const path = require('node:path')
const binding = require('./loader.js').load()
const { NativeManager, wireTags } = binding
const { Terminal, terminalOptions, terminalInfo, argError } = require('./terminal.js')(binding)

/** Error codes, from the addon's contract (src/napi/contract.rs): never spelled here. */
const E = binding.SidecarErrorCode

/** Every live manager, so the exit hook can end their runners. */
const liveManagers = new Set()
let exitHookInstalled = false

function installExitHook() {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Node and Bun run no addon cleanup on process.exit(): end every runner group here, synchronously.
  process.on('exit', () => {
    for (const m of liveManagers) m._killAllNow()
  })
}

/** Tag numbers of delivery entries, from the addon (src/deliver/tag.rs): never spelled here. */
const TAG = wireTags()

const MAX_LINE_BYTES_LIMIT = binding.MAX_LINE_BYTES_LIMIT
const MAX_RUNNER_NICE = binding.MAX_RUNNER_NICE

const NUMBER_OPTIONS = ['stopGraceMs', 'killGraceMs', 'cleanupGraceMs', 'maxLineBytes', 'maxPendingBytes', 'resourceSampleMs']

function optionError(name, expected, value) {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
  const err = new TypeError(`SidecarManager option "${name}" must be ${expected} (got ${got}${typeof value === 'number' ? ` ${value}` : ''})`)
  // One code for every malformed input (before 0.2 the constructor used E.InvalidOptionLegacy).
  err.code = E.InvalidArgument
  return err
}

/** Checks the constructor options; throws a TypeError naming the first bad one. */
function validateOptions(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) throw optionError('options', 'an object', options)
  const out = {}
  if (options.runnerRoot !== undefined) {
    const roots = typeof options.runnerRoot === 'string' ? [options.runnerRoot] : options.runnerRoot
    if (!Array.isArray(roots) || roots.length === 0 || roots.some((r) => typeof r !== 'string' || r === '')) {
      throw optionError('runnerRoot', 'a folder path or a non-empty array of folder paths', options.runnerRoot)
    }
    out.runnerRoot = roots.map((r) => path.resolve(r))
  }
  for (const name of ['runtime', 'claudePath']) {
    const v = options[name]
    if (v === undefined) continue
    if (typeof v !== 'string' || v === '') throw optionError(name, 'a non-empty string', v)
    out[name] = v
  }
  for (const name of NUMBER_OPTIONS) {
    const v = options[name]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw optionError(name, 'a finite number >= 0', v)
    out[name] = v
  }
  for (const name of ['maxLineBytes', 'maxPendingBytes']) {
    if (out[name] !== undefined && (out[name] < 1 || !Number.isInteger(out[name]))) {
      throw optionError(name, 'a whole number >= 1', out[name])
    }
  }
  // A line becomes one JS string, and engines cap strings at about 512 M characters.
  if (out.maxLineBytes !== undefined && out.maxLineBytes > MAX_LINE_BYTES_LIMIT) {
    throw optionError('maxLineBytes', `at most ${MAX_LINE_BYTES_LIMIT} (256 MiB)`, out.maxLineBytes)
  }
  if (options.runnerNice !== undefined) {
    const v = options.runnerNice
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_RUNNER_NICE) {
      throw optionError('runnerNice', `a whole number from 0 to ${MAX_RUNNER_NICE}`, v)
    }
    out.runnerNice = v
  }
  if (options.runnerBuild !== undefined && options.runnerBuild !== null) {
    const b = options.runnerBuild
    if (typeof b !== 'object' || Array.isArray(b)) throw optionError('runnerBuild', 'an object', b)
    if (!Array.isArray(b.command) || b.command.length === 0 || b.command.some((c) => typeof c !== 'string' || c === '')) {
      throw optionError('runnerBuild.command', 'a non-empty array of non-empty strings', b.command)
    }
    // Field values (when, watch, timeoutMs, env) are checked by the addon (src/config.rs).
    out.runnerBuildJson = JSON.stringify(b)
  }
  if (options.limits !== undefined && options.limits !== null) {
    // The names and bounds are checked by the addon (src/resources.rs), the one place that knows them.
    if (typeof options.limits !== 'object' || Array.isArray(options.limits)) throw optionError('limits', 'an object', options.limits)
    out.limitsJson = JSON.stringify(options.limits)
  }
  if (options.sandbox !== undefined && options.sandbox !== null) {
    // Keys and values are checked by the addon (src/sandbox/options.rs).
    if (options.sandbox !== false && (typeof options.sandbox !== 'object' || Array.isArray(options.sandbox))) {
      throw optionError('sandbox', 'an object or false', options.sandbox)
    }
    out.sandboxJson = JSON.stringify(options.sandbox)
  }
  return out
}

/** The figures of one process tree as JS sees them. */
function resources(r) {
  return { processes: r.processes, cpuMs: r.cpuMs, rssBytes: r.rssBytes, peakRssBytes: r.peakRssBytes, sampledAt: r.sampledAt }
}

/** A copy of process.env with string values only (read at call time, like the TS manager). */
function hostEnv() {
  const env = {}
  for (const key of Object.keys(process.env)) {
    const v = process.env[key]
    if (typeof v === 'string') env[key] = v
  }
  return env
}

function fail(error, code) {
  return { ok: false, error, code }
}

function toResult(r) {
  return r.ok ? { ok: true } : { ok: false, error: r.error, code: r.code }
}

function report(kind, sessionId, err) {
  try {
    console.error(`[sidecar] ${kind} callback error for ${sessionId}:`, err)
  } catch {
    // console itself failed (closed stderr): nothing else to do
  }
}

const DISPOSED = 'manager is disposed'

/** The TypeScript manager's SessionState fields (and only those) of a native snapshot. */
function sessionState(s) {
  return {
    sessionId: s.sessionId,
    provider: s.provider,
    status: s.status,
    costUsd: s.costUsd,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    startedAt: s.startedAt,
  }
}

class SidecarManager {
  #native
  /** token -> { id, onMessage: [], onStatus: [] } */
  #byToken = new Map()
  /** sessionId -> token */
  #tokens = new Map()
  #keepAlive
  #state = 'ready'
  #disposePromise = null
  #disposeResolve = null
  #disposeReject = null
  #disposeTimer = null
  #alive = 0
  /** token -> Terminal */
  #terminals = new Map()
  /** terminal id -> Terminal (the latest one opened under that id) */
  #terminalIds = new Map()
  #liveTerminals = 0
  #cleanupGraceMs = 60000
  /** Lifecycle listeners of every session and terminal. */
  #lifecycleAll = []
  /** id -> listeners of that id (dropped after its `removed`). */
  #lifecycleById = new Map()
  /** Resolvers of sampleResources() calls waiting for the addon's sample. */
  #sampleWaiters = []

  /**
   * @param {import('./index').SidecarManagerOptions} [options]
   */
  constructor(options) {
    const opts = validateOptions(options)
    const entry = process.argv[1]
    try {
      this.#native = new NativeManager(
        {
          ...opts,
          anchorDir: entry ? path.dirname(path.resolve(entry)) : undefined,
          cwd: process.cwd(),
          env: hostEnv(),
        },
        (batch) => this.#deliver(batch),
        (batch) => this.#deliverTerminal(batch),
      )
    } catch (err) {
      const e = new TypeError(`SidecarManager: ${err && err.message ? err.message : err}`)
      e.code = E.InvalidArgument
      throw e
    }
    this.#cleanupGraceMs = this.#native.settings().cleanupGraceMs
    // Holds the event loop open while runners or terminals are alive (ref'd), never otherwise.
    this.#keepAlive = setInterval(() => {}, 0x7fffffff)
    this.#keepAlive.unref()
    installExitHook()
    liveManagers.add(this)
  }

  /** Start an agent session with the given provider. */
  startSession(sessionId, provider, prompt, options = {}) {
    if (this.#state !== 'ready') return fail(DISPOSED, E.Disposed)
    if (typeof sessionId !== 'string') return fail('sessionId must be a string', E.InvalidArgument)
    if (typeof provider !== 'string') return fail('provider must be a string', E.InvalidArgument)
    if (typeof prompt !== 'string') return fail('prompt must be a string', E.InvalidArgument)
    let optionsJson
    try {
      optionsJson = JSON.stringify(options ?? null) ?? 'null'
    } catch (err) {
      return fail(`Invalid options: ${err && err.message ? err.message : err}`, E.InvalidArgument)
    }
    let r
    try {
      r = this.#native.startSession(sessionId, provider, prompt, optionsJson, hostEnv())
    } catch (err) {
      return fail(`startSession failed: ${err && err.message ? err.message : err}`, E.Internal)
    }
    if (!r.ok) return toResult(r)
    const token = r.token
    this.#byToken.set(token, { id: sessionId, onMessage: [], onStatus: [] })
    this.#tokens.set(sessionId, token)
    this.#setAlive(this.#alive + 1)
    return { ok: true }
  }

  /** Stop a running session: stop message, then SIGTERM/SIGKILL to its process group after the graces (Windows: its job is terminated after stopGraceMs). */
  stopSession(sessionId) {
    if (this.#state !== 'ready') return fail(DISPOSED, E.Disposed)
    if (typeof sessionId !== 'string') return fail('Session not found', E.SessionNotFound)
    return toResult(this.#native.stopSession(sessionId))
  }

  /** Send a follow-up prompt to a session. */
  writePrompt(sessionId, prompt) {
    if (this.#state !== 'ready') return fail(DISPOSED, E.Disposed)
    if (typeof sessionId !== 'string') return fail('Session not found', E.SessionNotFound)
    if (typeof prompt !== 'string') return fail('prompt must be a string', E.InvalidArgument)
    return toResult(this.#native.writePrompt(sessionId, prompt))
  }

  /** List all sessions with their state. */
  listSessions() {
    if (this.#state === 'disposed') return []
    return this.#native.listSessions().map(sessionState)
  }

  /** One session's extended state, or null. */
  getSession(sessionId) {
    if (this.#state === 'disposed' || typeof sessionId !== 'string') return null
    const s = this.#native.getSession(sessionId)
    if (!s) return null
    return {
      ...sessionState(s),
      pid: s.pid,
      exitCode: s.exitCode ?? null,
      signal: s.signal ?? null,
      uptimeMs: Date.now() - s.startedAt,
      lastOutputAt: s.lastOutputAt ?? null,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      messages: s.messages,
      droppedLines: s.droppedLines,
      resources: resources(s.resources),
    }
  }

  /**
   * Lifecycle events: `onLifecycle(cb)` for every session and terminal, `onLifecycle(id, cb)`
   * for one id (until its `removed`). Returns `{ dispose() }` to unsubscribe.
   */
  onLifecycle(idOrCallback, callback) {
    const all = typeof idOrCallback === 'function'
    const cb = all ? idOrCallback : callback
    if (typeof cb !== 'function') throw argError('onLifecycle needs a callback function')
    if (!all && typeof idOrCallback !== 'string') throw argError('onLifecycle id must be a string')
    if (this.#state === 'disposed') return { dispose() {} }
    let list = this.#lifecycleAll
    if (!all) {
      list = this.#lifecycleById.get(idOrCallback)
      if (!list) this.#lifecycleById.set(idOrCallback, (list = []))
    }
    list.push(cb)
    return {
      dispose() {
        const i = list.indexOf(cb)
        if (i >= 0) list.splice(i, 1)
      },
    }
  }

  /**
   * What every session and terminal costs now (the latest samples; no system call), the
   * largest consumers, and what sampling itself costs.
   */
  resources() {
    if (this.#state === 'disposed') {
      return { processes: 0, cpuMs: 0, rssBytes: 0, sampledAt: 0, top: [], sampler: { intervalMs: 0, ticks: 0, cpuMs: 0, lastMs: 0, processes: 0 } }
    }
    const r = this.#native.resources()
    return {
      processes: r.processes,
      cpuMs: r.cpuMs,
      rssBytes: r.rssBytes,
      sampledAt: r.sampledAt,
      top: r.top.map((t) => ({ id: t.id, kind: t.kind, ...resources(t.resources) })),
      sampler: {
        intervalMs: r.sampleIntervalMs,
        ticks: r.samplerTicks,
        cpuMs: r.samplerCpuUs / 1000,
        lastMs: r.samplerLastUs / 1000,
        processes: r.samplerProcesses,
      },
    }
  }

  /**
   * What this machine can enforce of a sandbox: `{ filesystem, denyPaths, network,
   * allowedDomains, mechanism, missing }` (probed once per process).
   */
  sandboxSupport() {
    const s = this.#native.sandboxSupport()
    return {
      filesystem: s.filesystem,
      denyPaths: s.denyPaths,
      network: s.network,
      allowedDomains: s.allowedDomains,
      mechanism: s.mechanism,
      missing: s.missing,
    }
  }

  /** Samples every session and terminal now (off the JS thread), then resolves with resources(). */
  sampleResources() {
    if (this.#state !== 'ready') return Promise.resolve(this.resources())
    return new Promise((resolve) => {
      this.#sampleWaiters.push(resolve)
      // The first waiter asks; later ones share that sample.
      if (this.#sampleWaiters.length === 1 && !this.#native.requestSample()) this.#sampled()
      this.#keepAlive.ref()
    })
  }

  /** Register a callback for messages from a specific session. */
  onMessage(sessionId, callback) {
    const rec = this.#record(sessionId)
    if (rec && typeof callback === 'function') rec.onMessage.push(callback)
  }

  /** Register a callback for status changes of a specific session. */
  onStatus(sessionId, callback) {
    const rec = this.#record(sessionId)
    if (rec && typeof callback === 'function') rec.onStatus.push(callback)
  }

  /** Remove a session; a live runner is ended (SIGTERM, then SIGKILL after the kill grace; Windows: its job is terminated). */
  removeSession(sessionId) {
    if (this.#state === 'disposed' || typeof sessionId !== 'string') return
    const token = this.#tokens.get(sessionId)
    if (token !== undefined) {
      this.#tokens.delete(sessionId)
      this.#byToken.delete(token)
    }
    this.#native.removeSession(sessionId)
  }

  /**
   * Opens a terminal: `options.command` (default $SHELL, else /bin/sh; Windows: %COMSPEC%, else
   * cmd.exe) on a new PTY (Windows: a ConPTY pseudoconsole). Throws an
   * Error with `.code` when the options are wrong or the program cannot start.
   */
  openTerminal(id, options) {
    if (this.#state !== 'ready') {
      const e = new Error(DISPOSED)
      e.code = E.Disposed
      throw e
    }
    if (typeof id !== 'string' || id === '') throw argError('terminal id must be a non-empty string')
    const opts = terminalOptions(options, process.cwd())
    const r = this.#native.openTerminal(id, opts, hostEnv())
    if (r && r.ok === false) {
      const e = r.code === E.InvalidArgument ? new TypeError(r.error) : new Error(r.error)
      e.code = r.code
      throw e
    }
    const term = new Terminal(r, id, opts.utf8, opts.cols ?? 80, opts.rows ?? 24)
    this.#terminals.set(r.token(), term)
    this.#terminalIds.set(id, term)
    this.#liveTerminals++
    this.#setAlive(this.#alive)
    return term
  }

  /** The terminal opened under `id` (the same object), or null. */
  getTerminal(id) {
    if (this.#state === 'disposed' || typeof id !== 'string') return null
    return this.#terminalIds.get(id) ?? null
  }

  /** Every terminal's info(), in opening order. */
  listTerminals() {
    if (this.#state === 'disposed') return []
    return this.#native.listTerminals().map(terminalInfo)
  }

  /** A plain snapshot of the manager. */
  describe() {
    const sessions = this.#state === 'disposed' ? [] : this.listSessions()
    return {
      state: this.#state,
      sessions,
      running: this.#state === 'disposed' ? 0 : this.#native.alive(),
      terminals: this.listTerminals(),
    }
  }

  /**
   * Stop every session (stop message, SIGTERM after stopGraceMs, SIGKILL after killGraceMs),
   * wait for every runner to exit, then release everything. Idempotent: every call returns
   * the same promise. Final statuses are still delivered while disposing. Rejects with an
   * AggregateError naming each runner that could not be ended.
   */
  dispose() {
    if (this.#disposePromise) return this.#disposePromise
    this.#state = 'disposing'
    this.#disposePromise = new Promise((resolve, reject) => {
      this.#disposeResolve = resolve
      this.#disposeReject = reject
    })
    const { stopGraceMs, killGraceMs } = this.#native.settings()
    this.#native.beginDispose()
    // SIGKILL cannot be ignored: a runner still alive well after it was sent is stuck
    // (uninterruptible I/O, or not ours to signal). Report it instead of waiting forever.
    this.#disposeTimer = setTimeout(() => this.#failDispose(), stopGraceMs + killGraceMs + 5000)
    this.#disposeTimer.unref()
    this.#checkDisposed(this.#native.alive())
    return this.#disposePromise
  }

  /** @internal process-exit path */
  _killAllNow() {
    try {
      this.#native.killAllNow()
      // The host is exiting: hand the `stopping`/`signal` events to listeners now, as this
      // is the last chance.
      this.#drainNow()
    } catch {
      // exiting anyway
    }
  }

  /** Delivers everything queued, synchronously (exit and the end of dispose). */
  #drainNow() {
    for (let i = 0; i < 1000; i++) {
      const p = this.#native.pull()
      const t = this.#native.pullTerminals()
      if (!p && !(Array.isArray(t) && t.length > 1)) break
      if (p) this.#dispatch(p)
      if (t) this.#dispatchTerminal(t)
    }
  }

  #lifecycle(ev) {
    for (const cb of this.#lifecycleAll.slice()) {
      try {
        cb(ev)
      } catch (err) {
        report('Lifecycle', ev.id, err)
      }
    }
    const list = this.#lifecycleById.get(ev.id)
    if (list) {
      for (const cb of list.slice()) {
        try {
          cb(ev)
        } catch (err) {
          report('Lifecycle', ev.id, err)
        }
      }
      if (ev.kind === 'removed') this.#lifecycleById.delete(ev.id)
    }
  }

  #sampled() {
    const waiters = this.#sampleWaiters
    this.#sampleWaiters = []
    if (waiters.length === 0) return
    const r = this.resources()
    this.#setAlive(this.#alive)
    for (const resolve of waiters) resolve(r)
  }

  #record(sessionId) {
    if (this.#state !== 'ready' || typeof sessionId !== 'string') return undefined
    let token = this.#tokens.get(sessionId)
    if (token === undefined) return undefined
    return this.#byToken.get(token)
  }

  #setAlive(n) {
    this.#alive = n
    if (n + this.#liveTerminals + this.#sampleWaiters.length > 0) this.#keepAlive.ref()
    else this.#keepAlive.unref()
  }

  #checkDisposed(alive) {
    if (this.#state !== 'disposing' || alive > 0 || this.#liveTerminals > 0) return
    this.#finishDispose()
    const resolve = this.#disposeResolve
    this.#disposeResolve = this.#disposeReject = null
    if (resolve) resolve()
  }

  #failDispose() {
    if (this.#state !== 'disposing') return
    const live = this.#native.liveSessions()
    const terminals = this.#native.liveTerminals()
    if (live.length === 0 && terminals.length === 0) return this.#checkDisposed(0)
    const errors = live.map((s) => {
      const e = new Error(`runner of session ${s.sessionId} (pid ${s.pid}) did not exit after SIGKILL`)
      e.code = E.RunnerStuck
      return e
    })
    for (const t of terminals) {
      const e = new Error(`program of terminal ${t.sessionId} (pid ${t.pid}) did not exit after SIGKILL`)
      e.code = E.RunnerStuck
      errors.push(e)
    }
    this.#finishDispose()
    const reject = this.#disposeReject
    this.#disposeResolve = this.#disposeReject = null
    if (reject) reject(new AggregateError(errors, `dispose: ${errors.length} runner(s) could not be ended`))
  }

  #finishDispose() {
    this.#state = 'disposed'
    if (this.#disposeTimer) clearTimeout(this.#disposeTimer)
    liveManagers.delete(this)
    // Every session and terminal is forgotten now: their last events (`removed`) go out before
    // the delivery path closes.
    try {
      this.#native.finishDispose()
      this.#drainNow()
    } catch (err) {
      report('delivery', '(dispose)', err)
    }
    this.#lifecycleAll = []
    this.#lifecycleById.clear()
    this.#sampled()
    this.#byToken.clear()
    this.#tokens.clear()
    this.#terminals.clear()
    this.#terminalIds.clear()
    this.#liveTerminals = 0
    this.#native.close()
    this.#setAlive(0)
    clearInterval(this.#keepAlive)
  }

  /**
   * One batch: its JSON text, or [text, ...longTexts] when long message texts travel beside
   * the JSON (each replaces a `0` at `content.text` or `content.output` of a message listed in
   * its entry).
   */
  #deliver(payload) {
    const batch = this.#dispatch(payload)
    if (!batch) return
    this.#setAlive(batch[0])
    this.#checkDisposed(batch[0])
    // More is queued: take it on a later turn of the event loop, so the app's timers and I/O
    // run between two batches even during a flood.
    if (batch[1] && this.#state !== 'disposed') setImmediate(this.#pullNext)
  }

  /** Hands one batch's entries to the callbacks; returns the parsed batch. */
  #dispatch(payload) {
    if (!payload) return null
    const text = typeof payload === 'string' ? payload : payload[0]
    if (text[0] === '!') {
      // The addon could not make this batch (the engine refused a string).
      this.#lost(new Error(`a batch of runner output was lost: ${text.slice(1)}`))
      return null
    }
    let batch
    try {
      batch = JSON.parse(text)
    } catch (err) {
      this.#lost(err)
      return null
    }
    let nextLong = 1
    // [alive, more, ...entries]
    for (let i = 2; i < batch.length; i++) {
      const e = batch[i]
      const rec = this.#byToken.get(e[1])
      switch (e[0]) {
        case TAG.messages:
          if (e.length > 3) {
            // Long texts travel beside the JSON: i → content.text of message i,
            // -1 - i → content.output of message i (see src/agent/outbox.rs).
            const msgs = e[2]
            for (const at of e[3]) {
              if (at >= 0) msgs[at].content.text = payload[nextLong++]
              else msgs[-1 - at].content.output = payload[nextLong++]
            }
          }
          if (rec) {
            for (const cb of rec.onMessage.slice()) {
              try {
                cb(rec.id, e[2])
              } catch (err) {
                report('Message', rec.id, err)
              }
            }
          }
          break
        case TAG.status:
          if (rec) {
            for (const cb of rec.onStatus.slice()) {
              try {
                cb(rec.id, e[2], e[3])
              } catch (err) {
                report('Status', rec.id, err)
              }
            }
          }
          break
        case TAG.lifecycle:
          e[2].source = 'session'
          this.#lifecycle(e[2])
          break
        case TAG.sampled:
          this.#sampled()
          break
        case TAG.removed:
          if (rec) {
            this.#byToken.delete(e[1])
            if (this.#tokens.get(rec.id) === e[1]) this.#tokens.delete(rec.id)
          }
          break
        default:
          break
      }
    }
    return batch
  }

  /** Terminal events: a flat array [more, tag, token, payload, …] (see src/napi/wire.rs). */
  #deliverTerminal(batch) {
    if (!this.#dispatchTerminal(batch)) return
    if (batch[0] && this.#state !== 'disposed') setImmediate(this.#pullTerminals)
  }

  #dispatchTerminal(batch) {
    if (!Array.isArray(batch)) return false
    for (let i = 1; i + 2 < batch.length; i += 3) {
      const tag = batch[i]
      const payload = batch[i + 2]
      if (tag === TAG.lifecycle) {
        // Lifecycle events outlive the Terminal object (`removed` comes after it is forgotten).
        let ev
        try {
          ev = JSON.parse(payload)
        } catch (err) {
          report('Lifecycle', '(terminal)', err)
          continue
        }
        ev.source = 'terminal'
        this.#lifecycle(ev)
        continue
      }
      const term = this.#terminals.get(batch[i + 1])
      if (!term) continue
      switch (tag) {
        case TAG.output:
          term._data(payload)
          break
        case TAG.idle:
          term._state(payload)
          break
        case TAG.exit:
          this.#terminalEnded(batch[i + 1], term, payload, payload[2] ?? undefined)
          break
        case TAG.failed:
          this.#terminalEnded(batch[i + 1], term, [null, null], payload)
          break
        default:
          break
      }
    }
    return true
  }

  #terminalEnded(token, term, [exitCode, signal], error) {
    if (term._exited) return
    term._exit(exitCode, signal, error)
    this.#liveTerminals = Math.max(0, this.#liveTerminals - 1)
    this.#setAlive(this.#alive)
    this.#checkDisposed(this.#state === 'disposing' ? this.#native.alive() : 1)
    // Like sessions: an ended terminal stays reachable for cleanupGraceMs.
    const forget = setTimeout(() => {
      this.#terminals.delete(token)
      if (this.#terminalIds.get(term.id) === term) this.#terminalIds.delete(term.id)
    }, this.#cleanupGraceMs)
    forget.unref()
  }

  #pullTerminals = () => {
    if (this.#state === 'disposed') return
    let batch
    try {
      batch = this.#native.pullTerminals()
    } catch (err) {
      report('delivery', '(terminals)', err)
      return
    }
    this.#deliverTerminal(batch)
  }

  #pullNext = () => {
    if (this.#state === 'disposed') return
    let payload
    try {
      payload = this.#native.pull()
    } catch (err) {
      // Only an internal failure (a caught panic) gets here.
      return this.#lost(err)
    }
    this.#deliver(payload)
  }

  /**
   * Reports a batch that could not be delivered and pulls on: whether more was queued is
   * unknown, and no new wake-up comes while the queue is marked as being drained.
   */
  #lost(err) {
    report('delivery', '(batch)', err)
    if (this.#state !== 'disposed') setImmediate(this.#pullNext)
  }
}

module.exports = { SidecarManager, Terminal }
module.exports.SidecarManager = SidecarManager
module.exports.default = SidecarManager
