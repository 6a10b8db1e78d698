'use strict'
// The public Terminal: a program on a real PTY, supervised by the native core (src/terminal/).
// This file only does what must happen on the JS thread: argument checks, the callback lists
// (a callback that throws is reported and the others still run) and the exit promise.

// The contract (codes, bounds) comes from the addon: see src/napi/contract.rs.
let MAX_SIZE
let INVALID_ARGUMENT

function argError(message) {
  const err = new TypeError(message)
  err.code = INVALID_ARGUMENT
  return err
}

function checkSize(name, v) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_SIZE) {
    throw argError(`${name} must be an integer from 1 to ${MAX_SIZE} (got ${typeof v === 'number' ? v : typeof v})`)
  }
}

function report(kind, id, err) {
  try {
    console.error(`[sidecar] terminal ${kind} callback error for ${id}:`, err)
  } catch {
    // console itself failed (closed stderr): nothing else to do
  }
}

function subscribe(list, cb) {
  if (typeof cb !== 'function') throw argError('callback must be a function')
  const entry = { cb }
  list.push(entry)
  return {
    dispose() {
      const i = list.indexOf(entry)
      if (i >= 0) list.splice(i, 1)
    },
  }
}

function emit(list, kind, id, value) {
  for (const { cb } of list.slice()) {
    try {
      cb(value)
    } catch (err) {
      report(kind, id, err)
    }
  }
}

/** The public shape of a native terminal info. */
function terminalInfo(i) {
  return {
    id: i.id,
    pid: i.pid,
    cols: i.cols,
    rows: i.rows,
    state: i.idle ? 'idle' : 'active',
    foreground: i.foreground ?? null,
    startedAt: i.startedAt,
    lastOutputAt: i.lastOutputAt ?? null,
    bytesIn: i.bytesIn,
    bytesOut: i.bytesOut,
    alive: i.alive,
    exitCode: i.exitCode ?? null,
    signal: i.signal ?? null,
    resources: {
      processes: i.resources.processes,
      cpuMs: i.resources.cpuMs,
      rssBytes: i.resources.rssBytes,
      peakRssBytes: i.resources.peakRssBytes,
      sampledAt: i.resources.sampledAt,
    },
    limitError: i.limitError ?? null,
  }
}

class Terminal {
  #native
  #id
  #utf8
  #cols
  #rows
  #onData = []
  #onExit = []
  #onState = []
  #exit = null
  #closed = null
  #resolveClosed = null

  /** @internal Made by `SidecarManager.openTerminal`. */
  constructor(native, id, utf8, cols, rows) {
    this.#native = native
    this.#id = id
    this.#utf8 = utf8
    this.#cols = cols
    this.#rows = rows
  }

  /** The id it was opened with. */
  get id() {
    return this.#id
  }

  /** Pid of the program (its session id); 0 for the first moments, until it runs. */
  get pid() {
    return this.#native.pid()
  }

  get cols() {
    return this.#cols
  }

  get rows() {
    return this.#rows
  }

  /** Queues input; `false` when the input queue is full or the program has exited. Never throws. */
  write(data) {
    if (this.#exit) return false
    let bytes
    if (typeof data === 'string') bytes = Buffer.from(data, 'utf8')
    else if (data instanceof Uint8Array) bytes = data
    else return false
    try {
      return this.#native.write(bytes)
    } catch {
      return false
    }
  }

  /** Resizes the PTY (the program gets SIGWINCH; Windows: ResizePseudoConsole); a no-op after exit. */
  resize(cols, rows) {
    checkSize('cols', cols)
    checkSize('rows', rows)
    if (this.#exit) return
    const r = this.#native.resize(cols, rows)
    if (r.ok === false) {
      const e = r.code === INVALID_ARGUMENT ? new TypeError(r.error) : new Error(r.error)
      e.code = r.code
      throw e
    }
    this.#cols = cols
    this.#rows = rows
  }

  onData(cb) {
    return subscribe(this.#onData, cb)
  }

  /** Called once, after the last output; at once (next tick) if the program already exited. */
  onExit(cb) {
    const sub = subscribe(this.#onExit, cb)
    if (this.#exit) {
      const exit = this.#exit
      process.nextTick(() => {
        if (this.#onExit.some((e) => e.cb === cb)) {
          try {
            cb(exit)
          } catch (err) {
            report('exit', this.#id, err)
          }
        }
      })
    }
    return sub
  }

  onState(cb) {
    return subscribe(this.#onState, cb)
  }

  /** The latest output (at most `scrollbackBytes`), starting on a character boundary. */
  scrollback() {
    const buf = this.#native.scrollback()
    return this.#utf8 ? buf.toString('utf8') : new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
  }

  /** Stops reading the PTY: the program blocks once the tty's buffer is full; nothing is dropped. */
  pause() {
    this.#native.setPaused(true)
  }

  resume() {
    this.#native.setPaused(false)
  }

  /** `signal` (default SIGHUP) to every process of the terminal's session, SIGKILL after killGraceMs. Windows: the terminal's job is terminated (SIGTERM, SIGHUP, SIGKILL accepted). */
  kill(signal) {
    if (signal !== undefined && typeof signal !== 'string') throw argError('signal must be a signal name such as "SIGTERM"')
    if (this.#exit) return
    try {
      this.#native.kill(signal)
    } catch (err) {
      throw argError(err && err.message ? err.message : String(err))
    }
  }

  /** Kills (if still running) and resolves with how the program ended. Idempotent. */
  close() {
    if (!this.#closed) {
      this.#closed = new Promise((resolve) => {
        this.#resolveClosed = resolve
      })
      if (this.#exit) this.#resolveClosed(this.#exit)
      else this.kill()
    }
    return this.#closed
  }

  info() {
    return terminalInfo(this.#native.info())
  }

  /** @internal */
  _data(payload) {
    emit(this.#onData, 'data', this.#id, payload)
  }

  /** @internal */
  _state(idle) {
    emit(this.#onState, 'state', this.#id, idle ? 'idle' : 'active')
  }

  /** @internal Exit (or a failure to start, with `error`): fires once. */
  _exit(exitCode, signal, error) {
    if (this.#exit) return
    this.#exit = error === undefined ? { exitCode, signal } : { exitCode, signal, error }
    emit(this.#onExit, 'exit', this.#id, this.#exit)
    if (this.#resolveClosed) this.#resolveClosed(this.#exit)
  }

  /** @internal */
  get _exited() {
    return this.#exit !== null
  }
}

/** Checks `openTerminal` options; throws a TypeError (code InvalidArgument) naming the bad one. */
function terminalOptions(options, cwd) {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) throw argError('options must be an object')
  const out = { cwd, utf8: true }
  for (const name of ['command', 'cwd', 'term']) {
    const v = options[name]
    if (v === undefined) continue
    if (typeof v !== 'string' || v === '') throw argError(`option "${name}" must be a non-empty string`)
    out[name] = v
  }
  if (options.args !== undefined) {
    if (!Array.isArray(options.args) || options.args.some((a) => typeof a !== 'string')) {
      throw argError('option "args" must be an array of strings')
    }
    out.args = options.args
  }
  if (options.env !== undefined) {
    const env = options.env
    if (env === null || typeof env !== 'object' || Array.isArray(env)) throw argError('option "env" must be an object')
    for (const [k, v] of Object.entries(env)) {
      if (v !== null && typeof v !== 'string') throw argError(`option "env.${k}" must be a string or null`)
    }
    out.env = env
  }
  if (options.cleanEnv !== undefined) {
    if (typeof options.cleanEnv !== 'boolean') throw argError('option "cleanEnv" must be a boolean')
    out.cleanEnv = options.cleanEnv
  }
  for (const name of ['cols', 'rows']) if (options[name] !== undefined) checkSize(name, (out[name] = options[name]))
  if (options.encoding !== undefined) {
    if (options.encoding !== 'utf8' && options.encoding !== null) throw argError('option "encoding" must be "utf8" or null')
    out.utf8 = options.encoding === 'utf8'
  }
  for (const name of ['scrollbackBytes', 'idleMs']) {
    const v = options[name]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw argError(`option "${name}" must be a whole number >= 0`)
    out[name] = v
  }
  if (options.limits !== undefined && options.limits !== null) {
    // Names and bounds are checked by the addon (src/resources.rs).
    if (typeof options.limits !== 'object' || Array.isArray(options.limits)) throw argError('option "limits" must be an object')
    out.limitsJson = JSON.stringify(options.limits)
  }
  if (options.sandbox !== undefined && options.sandbox !== null) {
    // Keys and values are checked by the addon (src/sandbox/options.rs).
    if (options.sandbox !== false && (typeof options.sandbox !== 'object' || Array.isArray(options.sandbox))) {
      throw argError('option "sandbox" must be an object or false')
    }
    out.sandboxJson = JSON.stringify(options.sandbox)
  }
  return out
}

/** This module over `binding` (the loaded addon): its contract sets the codes and bounds. */
module.exports = function terminalModule(binding) {
  MAX_SIZE = binding.MAX_TERMINAL_SIZE
  INVALID_ARGUMENT = binding.SidecarErrorCode.InvalidArgument
  return { Terminal, terminalOptions, terminalInfo, argError }
}
