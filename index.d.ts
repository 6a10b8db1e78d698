// Public types of the native SidecarManager (drop-in for the TypeScript SidecarManager).
// binding.d.ts holds the generated types of the internal native class and the contract
// (src/napi/contract.rs): the unions below that JS branches on are derived from it, so they
// cannot drift from what the addon returns.
import type * as B from './binding.js'

/** Provider ids with a dedicated adapter; any other string is accepted and uses the claude mapping. */
export type ProviderId = 'claude' | 'codex' | 'ollama' | (string & {})

/** Session status strings. */
export type SessionStatus = `${B.SessionStatus}`

/** The kinds of AgentMessage. */
export type AgentMessageType =
  | 'init'
  | 'text'
  | 'thinking'
  | 'tool_call'
  | 'tool_result'
  | 'status'
  | 'compaction'
  | 'cost'
  | 'error'
  | 'unknown'

/** `init` content. */
export interface InitContent {
  sessionId: string
  model: string
  cwd: string
  tools: string[]
}

/** `text` and `thinking` content. */
export interface TextContent {
  text: string
}

/** `tool_call` content. */
export interface ToolCallContent {
  toolUseId: string
  name: string
  input: unknown
}

/** `tool_result` content. */
export interface ToolResultContent {
  toolUseId: string
  output?: unknown
}

/** `status` content. */
export interface StatusContent {
  subtype: string
  message?: string
}

/** `compaction` content. */
export interface CompactionContent {
  trigger: unknown
  preTokens: number
}

/** `cost` content. */
export interface CostContent {
  totalCostUsd: number
  durationMs: number
  inputTokens: number
  outputTokens: number
  numTurns: number
  isError: boolean
  result?: string
  errors?: string[]
}

/** `error` content. */
export interface ErrorContent {
  message: unknown
}

/** A provider-neutral message. */
export interface AgentMessage {
  id: string
  type: AgentMessageType
  parentId?: string
  content: unknown
  /** Milliseconds since the epoch. */
  timestamp: number
}

/** A session's state, as `listSessions()` returns it. */
export interface SessionState {
  sessionId: string
  provider: ProviderId
  status: SessionStatus
  costUsd: number
  inputTokens: number
  outputTokens: number
  startedAt: number
}

/** A session's extended state (`getSession`). */
export interface SessionInfo extends SessionState {
  /** Runner process id (also its process group id); 0 while the runner is still being spawned. */
  pid: number
  /** Exit code once the runner exited normally, else null. On Windows the unsigned 32-bit code, as Node reports it (a crash is 3221225477 = 0xC0000005). */
  exitCode: number | null
  /** Signal name (e.g. "SIGKILL") once the runner was killed by a signal, else null. Always null on Windows, which has no signals: a stopped runner's job was terminated and it exits with code 1. */
  signal: string | null
  uptimeMs: number
  /** Last stdout activity (ms since the epoch), or null. */
  lastOutputAt: number | null
  /** Stdout bytes read from the runner. */
  bytesIn: number
  /** Stdin bytes written to the runner. */
  bytesOut: number
  /** AgentMessages produced. */
  messages: number
  /** Lines dropped (oversized, invalid JSON, not an object); each was reported as an `error` message. */
  droppedLines: number
  /** What the runner's whole process group costs (latest sample). */
  resources: Resources
}

/**
 * What a session's or terminal's whole process tree costs: every live process of the runner's
 * process group (terminals: of the terminal's session), sampled every `resourceSampleMs`.
 */
export interface Resources {
  /** Live processes. */
  processes: number
  /** User + system CPU time of the live processes and of the children they reaped, ms. */
  cpuMs: number
  /** Resident memory of the live processes now, bytes. */
  rssBytes: number
  /** Largest `rssBytes` any sample saw. */
  peakRssBytes: number
  /** When the figures were taken (ms since the epoch); 0 until the first sample. */
  sampledAt: number
}

/**
 * Bounds that end a runaway session or terminal. Crossing one emits a `limit` lifecycle event,
 * ends it with the normal escalation, and ends it in `error` naming the limit and the figure
 * (`Memory limit exceeded: 2.1 GB > 2 GB`). Checked at every sample (`resourceSampleMs`).
 */
export interface Limits {
  /** Resident memory of the whole tree, bytes. */
  maxRssBytes?: number
  /** CPU time of the whole tree, ms. */
  maxCpuMs?: number
  /** Live processes in the tree. */
  maxProcesses?: number
  /** Time since the start, ms. */
  maxRuntimeMs?: number
  /** Agent sessions: time spent `done` with no new prompt; terminals: time without output, ms. */
  maxIdleMs?: number
}

/** One of the largest consumers in `resources().top`. */
export interface Consumer extends Resources {
  id: string
  kind: 'session' | 'terminal'
}

/** `manager.resources()`: totals over every listed session and terminal. */
export interface ResourceReport {
  processes: number
  cpuMs: number
  rssBytes: number
  /** Newest sample time (0: none yet). */
  sampledAt: number
  /** The five largest consumers by memory, then CPU. */
  top: Consumer[]
  /** What sampling itself costs. */
  sampler: {
    intervalMs: number
    /** Passes over the process table so far. */
    ticks: number
    /** CPU time of all passes together, ms. */
    cpuMs: number
    /** CPU time of the latest pass, ms. */
    lastMs: number
    /** Processes of sessions and terminals the latest pass found. */
    processes: number
  }
}

/** Why a session or terminal is being ended. */
export type StopReason = `${B.StopReason}`

/** Why an `exited` happened: on its own, a StopReason, or it never ran. */
export type ExitReason = `${B.ExitReason}`

interface LifecycleBase {
  /** The session's or terminal's id. */
  id: string
  source: 'session' | 'terminal'
  /** ms since the epoch. */
  at: number
}

/**
 * What happens to a session's or terminal's process, in order with its messages and statuses
 * (an `exited` never comes before the last message), each event once.
 */
export type LifecycleEvent = LifecycleBase &
  (
    | { kind: 'building' }
    | { kind: 'built'; durationMs: number }
    | { kind: 'build-failed'; error: string; /** Last 64 KiB of the build's stdout and stderr. */ output: string }
    | { kind: 'spawning' }
    | { kind: 'spawned'; pid: number }
    | { kind: 'ready'; /** From startSession to the runner's `{"type":"ready"}`. */ sinceStartMs: number }
    | { kind: 'stopping'; reason: StopReason }
    | {
        kind: 'signal'
        /** The step: a signal name on Unix (`SIGTERM`, `SIGKILL`, `SIGHUP`, …); on Windows always `terminate-job` (`TerminateJobObject`: every process of the job ended). */
        signal: string
        /** What it reached: the process group (`group`) or terminal session (`session`) on Unix, the child's Job Object (`job`) on Windows. */
        target: SignalTarget
        why: 'stop grace elapsed' | 'kill grace elapsed' | 'remove' | 'stop' | 'dispose' | 'limit' | 'host exit' | 'left over after the runner exited'
      }
    | { kind: 'exited'; exitCode: number | null; signal: string | null; reason: ExitReason }
    | { kind: 'removed' }
    | { kind: 'limit'; limit: LimitName; value: number; bound: number }
    | ({ kind: 'sandboxed' } & SandboxedEvent)
    | { kind: 'sandbox-denied'; /** The host the proxy refused (not in `allowedDomains`). */ host: string; port: number }
  )

/** The fields of a `sandboxed` event (sent right after `spawned`): what the kernel enforces for this tree. */
export interface SandboxedEvent {
  /** `landlock` (Linux), `seatbelt` (macOS); `none` when nothing could be enforced and `onUnsupported` was `"warn"`. */
  mechanism: string
  /** Where the tree may write (resolved: symlinks followed): cwd, additionalDirectories, the private temp folder, the provider's state, allowWrite, devices. */
  writable: string[]
  /** Read-only inside writable places (resolved). */
  denyWrite: string[]
  /** Unreadable (resolved): a folder cannot be opened, a file reads as empty. */
  denyRead: string[]
  /** The host's service sockets hidden by default where they exist (the user's runtime folder with the session bus and `systemd --user`, the ssh agent, Docker/Podman, the system bus, X11): Landlock cannot refuse a connect to a socket file. */
  hidden: string[]
  /** The network policy asked for. */
  network: `${B.SandboxNetwork}`
  /** How much of it the kernel enforces here: `full` (every socket), `tcp` (TCP connects only; UDP and DNS stay open), `none`. */
  networkCoverage: SandboxNetworkCoverage
  /** The proxy the tree's HTTP(S)_PROXY point at (`allowed-domains`), else null. */
  proxy: string | null
  /** The private temp folder (TMPDIR, TMP, TEMP); removed with the session or terminal. */
  tempDir: string
  /** What was asked for and is not enforced here (only with `onUnsupported: "warn"`), one sentence each. */
  notEnforced: string[]
  /** Paths given that do not exist, so no rule was made for them (`"<path> (does not exist)"`). */
  skipped: string[]
}

/** How much of a network policy the kernel enforces. */
export type SandboxNetworkCoverage = `${B.NetworkCoverage}`

/**
 * A sandbox for a session's or terminal's whole process tree (the runner, the CLI, its tools,
 * MCP servers, a shell's jobs), enforced by the kernel: nothing in the tree can lift it.
 * Writable by default: the session's `cwd` and `additionalDirectories`, a private temp folder
 * (`TMPDIR`/`TMP`/`TEMP`), the provider's own state (`claudeConfigDir`, else `~/.claude` and
 * `~/.claude.json`; `~/.codex` or `$CODEX_HOME`) and the devices a program needs. Readable:
 * everything not in `denyRead`. Paths: `"~"` is the host's HOME, relative paths are from the
 * session's cwd; symlinks are followed, so a link inside cwd that points outside is outside.
 */
export interface SandboxOptions {
  /** Writable besides the defaults (files or folders). */
  allowWrite?: string[]
  /** Read-only even inside a writable place (e.g. `".git/hooks"`, `".env"`). Needs a mount namespace (see `sandboxSupport().denyPaths`). */
  denyWrite?: string[]
  /** Unreadable and unwritable (e.g. `"~/.ssh"`, `"~/.aws"`): a folder cannot be opened (EACCES), a file reads as empty (writes to it are discarded; the real file is untouched). Needs a mount namespace. */
  denyRead?: string[]
  /**
   * `"all"` (default); `"none"`: no connection leaves the tree; `{ allowedDomains }`: only
   * through the manager's proxy (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY point at it), to these hosts
   * (`"*.example.com"`: any subdomain, not example.com itself); others get 403 and a
   * `sandbox-denied` event.
   */
  network?: 'all' | 'none' | { allowedDomains: string[] }
  /** `"error"` (default): refuse a sandbox this machine cannot fully enforce (ERR_SANDBOX_UNSUPPORTED); `"warn"`: start with what can be, and list the rest in the `sandboxed` event's `notEnforced`. */
  onUnsupported?: 'error' | 'warn'
}

/** What this machine can enforce (`sandboxSupport()`). */
export interface SandboxSupport {
  /** Writes confined to the writable paths (Linux: Landlock; macOS: Seatbelt). */
  filesystem: boolean
  /** `denyWrite` and `denyRead` (Linux: needs a mount namespace: root, or user namespaces allowed). */
  denyPaths: boolean
  /** What `network: "none"` covers: `full` (a network namespace / Seatbelt: every socket), `tcp` (Landlock: TCP connects only), `none`. */
  network: SandboxNetworkCoverage
  /** What `network: { allowedDomains }` covers (`tcp` at best: the kernel lets only the proxy's port be connected). */
  allowedDomains: SandboxNetworkCoverage
  /** `landlock`, `seatbelt` or `none`. */
  mechanism: string
  /** What is missing here and why, one sentence each. */
  missing: string[]
}

/** Every `kind` of LifecycleEvent (the contract's list; the usage check proves the union above has exactly these). */
export type LifecycleKind = `${B.LifecycleKind}`
export type LifecycleCallback = (event: LifecycleEvent) => void

/** Options of `startSession` (same as the TypeScript manager). */
export interface StartSessionOptions {
  cwd?: string
  model?: string
  systemPrompt?: string
  maxTurns?: number
  permissionMode?: string
  claudeConfigDir?: string
  extraEnv?: Record<string, string>
  additionalDirectories?: string[]
  worktreeName?: string
  /** Session continuity: 'new' (default), 'continue' (most recent), 'resume' (specific). */
  resumeMode?: 'new' | 'continue' | 'resume'
  /** Required when resumeMode='resume': the Claude SDK session ID to resume. */
  resumeSessionId?: string
  /** This session's limits, over the manager's `limits`. */
  limits?: Limits
  /** This session's sandbox over the manager's (its paths are added to the manager's; `network`/`onUnsupported` replace them); `false`: none. */
  sandbox?: SandboxOptions | false
}

/** Constructor options; all optional. A wrong type or a negative/NaN number throws a TypeError naming it. */
export interface SidecarManagerOptions {
  /** Folder(s) holding `sidecar/dist/<provider>-runner.mjs`, tried in order (default: AGOR_ROOT, then the TS manager's candidates). */
  runnerRoot?: string | string[]
  /** Runtime for runner scripts: "node" | "deno" | "bun" | a path (default: deno, else node, from PATH). */
  runtime?: 'node' | 'deno' | 'bun' | (string & {})
  /** Claude CLI path (default: the TS manager's places, then PATH). */
  claudePath?: string
  /** Stop message → SIGTERM to the runner's group, ms (default 3000). */
  stopGraceMs?: number
  /** SIGTERM → SIGKILL, ms (default 2000). */
  killGraceMs?: number
  /** Exit → removal from listSessions, ms (default 60000). */
  cleanupGraceMs?: number
  /** Longest accepted NDJSON line, bytes (default 10 MB, at most 256 MiB). */
  maxLineBytes?: number
  /** Most bytes read from one runner but not yet delivered to JS, bytes (default 50 MB). */
  maxPendingBytes?: number
  /**
   * How many nice steps below the app runners (and everything they start) run, 0–19
   * (default 10): agents are background work and must not starve the app's UI thread.
   * 0 keeps the app's priority, as the TypeScript manager did. Linux only; ignored elsewhere.
   */
  runnerNice?: number
  /** How often every session's and terminal's processes are sampled, ms (default 2000; 0 = only on `sampleResources()`, and then no limits). */
  resourceSampleMs?: number
  /** Limits of every session and terminal (each may set its own over these). */
  limits?: Limits
  /** A command that builds the runner scripts before the first session that needs them. */
  runnerBuild?: RunnerBuild
  /** The default sandbox of every session and terminal (each may set its own, or `false`). Default: none. */
  sandbox?: SandboxOptions | false
}

/**
 * The runner build step: run once per manager before the sessions that need it (one build for
 * every provider: one command builds all runners), supervised like a runner (own process group,
 * ended on dispose and host death). Sessions started during a build wait for it; a failed build
 * ends them in `error` (`Runner build failed: <last line>`) and the next start tries again.
 */
export interface RunnerBuild {
  /** Program and arguments, e.g. `["npm", "run", "build"]` (looked up in PATH). */
  command: string[]
  /** Working directory, relative to the host's (default: the host's). */
  cwd?: string
  /**
   * `"missing"` (default): when the provider's runner file is absent; `"stale"`: also when a
   * file under `watch` is newer than the runner (or the last build); `"always"`: once per manager.
   */
  when?: 'missing' | 'stale' | 'always'
  /** Files or folders (walked, skipping node_modules and dot-folders), relative to `cwd`. */
  watch?: string[]
  /** Longest a build may run, ms (default 300000): then SIGTERM, SIGKILL after killGraceMs. */
  timeoutMs?: number
  /** Over the host's environment. */
  env?: Record<string, string>
}

/**
 * Stable error codes: `code` of `{ ok: false }` results and of thrown errors. Every malformed
 * argument or option is `ERR_INVALID_ARGUMENT` (the constructor said `ERR_INVALID_OPTION`
 * before 0.2; that code stays in the union so existing comparisons still compile).
 */
export type SidecarErrorCode = `${B.SidecarErrorCode}`

/** `code` of the error `require`/`import` throws when the addon cannot be loaded. */
export type SidecarLoadErrorCode = `${B.SidecarLoadErrorCode}`

/** Names of `limits`. */
export type LimitName = `${B.LimitName}`
/** What a lifecycle `signal` event's step reached. */
export type SignalTarget = `${B.SignalTarget}`

/** Result of the session calls. */
export interface SidecarResult {
  ok: boolean
  error?: string
  /** Present when ok is false. */
  code?: SidecarErrorCode
}

export type MessageCallback = (sessionId: string, messages: AgentMessage[]) => void
export type StatusCallback = (sessionId: string, status: SessionStatus, error?: string) => void

/** A plain snapshot of the manager. */
export interface ManagerDescription {
  state: 'ready' | 'disposing' | 'disposed'
  sessions: SessionState[]
  /** Runner processes alive. */
  running: number
  /** Every terminal, as `listTerminals()`. */
  terminals: TerminalInfo[]
}

/** `openTerminal` options. */
export interface TerminalOptions {
  /** Program; default `$SHELL` (of the resulting environment), else `/bin/sh`; on Windows `%COMSPEC%`, else `cmd.exe` (a `.cmd`/`.bat` program runs through `cmd.exe`, and an argument holding `" % ! CR LF` is refused for it). */
  command?: string
  args?: string[]
  /** Default `process.cwd()`; a folder that does not exist throws `ERR_CWD_NOT_FOUND`. */
  cwd?: string
  /** Over the host environment; `null` removes a key. */
  env?: Record<string, string | null>
  /** Strip provider keys (`CLAUDE*`, `CODEX*`, `OLLAMA*`, `ANTHROPIC_*`) as agent sessions do. Default false. */
  cleanEnv?: boolean
  /** Default 80 × 24. */
  cols?: number
  rows?: number
  /** `TERM`, default `"xterm-256color"`. */
  term?: string
  /** `"utf8"` (default): `onData` gets strings; `null`: `Uint8Array`s. */
  encoding?: 'utf8' | null
  /** Output kept for `scrollback()`, default 1 MiB; 0 keeps none. */
  scrollbackBytes?: number
  /** Quiet time before state `"idle"`, default 1000 ms. */
  idleMs?: number
  /** This terminal's limits, over the manager's `limits`. */
  limits?: Limits
  /** This terminal's sandbox over the manager's; `false`: none. */
  sandbox?: SandboxOptions | false
}

/** Whether a terminal has been quiet for `idleMs`. */
export type TerminalState = 'active' | 'idle'

/** How a terminal's program ended (`error`: it could not be started at all, or the limit that ended it). */
export interface TerminalExit {
  exitCode: number | null
  signal: string | null
  error?: string
}

/** A terminal's state. */
export interface TerminalInfo {
  id: string
  /** 0 until the program runs. */
  pid: number
  cols: number
  rows: number
  state: TerminalState
  /** Name of the foreground process (e.g. `"vim"` while vim runs in the shell). Always null on Windows, which has no foreground process group to ask. */
  foreground: string | null
  startedAt: number
  lastOutputAt: number | null
  bytesIn: number
  bytesOut: number
  alive: boolean
  exitCode: number | null
  signal: string | null
  /** What its session's processes cost (latest sample). */
  resources: Resources
  /** The limit that ended it, if one did. */
  limitError: string | null
}

/** Returned by `onData`, `onExit`, `onState`. */
export interface Disposable {
  dispose(): void
}

/** A program on a real PTY, supervised like an agent session. */
export declare class Terminal {
  /** Terminals come from `SidecarManager.openTerminal`. */
  private constructor()
  readonly id: string
  /** Pid of the program (its session id); 0 for the first moments, until it runs. */
  readonly pid: number
  readonly cols: number
  readonly rows: number
  /** Queues input; false when the input queue is full or the program has exited. Never blocks or throws. */
  write(data: string | Uint8Array): boolean
  /** No-op after exit; sizes that are not integers from 1 to 65535 throw a TypeError; a size the system refuses throws with `code` ERR_INVALID_STATE (Wine's ConPTY refuses every resize). */
  resize(cols: number, rows: number): void
  onData(cb: (data: string | Uint8Array) => void): Disposable
  /** Once, after the last `onData`. */
  onExit(cb: (e: TerminalExit) => void): Disposable
  onState(cb: (state: TerminalState) => void): Disposable
  /** The latest ≤ scrollbackBytes of output, starting on a character boundary. */
  scrollback(): string | Uint8Array
  /** Stop reading the PTY (the program blocks; nothing is dropped). */
  pause(): void
  resume(): void
  /** `signal` (default SIGHUP) to every process of the terminal's session, SIGKILL after killGraceMs. Windows: the terminal's job is terminated at once; only SIGTERM, SIGHUP and SIGKILL are accepted (other names throw ERR_INVALID_ARGUMENT). */
  kill(signal?: string): void
  /** Kill and wait; idempotent. */
  close(): Promise<TerminalExit>
  info(): TerminalInfo
}

/**
 * Spawns and supervises agent runner processes (drop-in for the TypeScript SidecarManager).
 * After `dispose()`, calls returning a result answer `{ ok: false, code: 'ERR_DISPOSED' }`,
 * `listSessions()` returns `[]`, `getSession()` returns null and the rest do nothing.
 */
export declare class SidecarManager {
  constructor(options?: SidecarManagerOptions)
  /** Start an agent session with the given provider. Never throws. */
  startSession(sessionId: string, provider: ProviderId, prompt: string, options?: StartSessionOptions): SidecarResult
  /** Stop a session: stop message, then SIGTERM and SIGKILL to its process group after the graces. */
  stopSession(sessionId: string): SidecarResult
  /** Send a follow-up prompt to a session whose runner is alive. */
  writePrompt(sessionId: string, prompt: string): SidecarResult
  /** List all sessions with their state. */
  listSessions(): SessionState[]
  /** One session's extended state, or null. */
  getSession(sessionId: string): SessionInfo | null
  /** Register a callback for messages from a specific session (ignored for unknown sessions). */
  onMessage(sessionId: string, callback: MessageCallback): void
  /** Register a callback for status changes of a specific session (ignored for unknown sessions). */
  onStatus(sessionId: string, callback: StatusCallback): void
  /** Remove a session; a live runner is ended. */
  removeSession(sessionId: string): void
  /** Open a terminal. Throws an Error with `.code` on bad options or when the program cannot start. */
  openTerminal(id: string, options?: TerminalOptions): Terminal
  /** The same object `openTerminal` returned (for a pane that re-attaches), or null. */
  getTerminal(id: string): Terminal | null
  listTerminals(): TerminalInfo[]
  /** A plain JSON snapshot. */
  describe(): ManagerDescription
  /** Lifecycle events of every session and terminal. */
  onLifecycle(callback: LifecycleCallback): Disposable
  /** Lifecycle events of one id (session or terminal), until its `removed`. */
  onLifecycle(id: string, callback: LifecycleCallback): Disposable
  /** Totals and top consumers from the latest samples (reads memory only: no system call). */
  resources(): ResourceReport
  /** What this machine can enforce of a sandbox (probed once per process). */
  sandboxSupport(): SandboxSupport
  /** Samples every session and terminal now, off the JS thread, then resolves with `resources()`. */
  sampleResources(): Promise<ResourceReport>
  /** Stop every session and terminal, wait for all their processes to exit, release everything. Idempotent. */
  dispose(): Promise<void>
}

export default SidecarManager
