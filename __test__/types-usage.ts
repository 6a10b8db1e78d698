// Type-checked against index.d.ts by `tsc --noEmit` (see scripts/test.sh): this is the TS
// manager's usage, unchanged but for the import.
import { SidecarManager } from '../index.js'
import type {
  AgentMessage,
  LifecycleEvent,
  Limits,
  ResourceReport,
  Resources,
  StopReason,
  CostContent,
  ManagerDescription,
  ProviderId,
  SessionInfo,
  SessionState,
  SessionStatus,
  SidecarResult,
  StartSessionOptions,
} from '../index.js'

const manager = new SidecarManager()
const tuned = new SidecarManager({ runnerRoot: ['/app'], runtime: 'bun', stopGraceMs: 1000, killGraceMs: 500, maxLineBytes: 1 << 20, runnerNice: 0 })

const options: StartSessionOptions = { cwd: '/tmp', model: 'sonnet', maxTurns: 3, extraEnv: { FOO: 'bar' }, resumeMode: 'resume', resumeSessionId: 'x' }
const provider: ProviderId = 'claude'
const res: { ok: boolean; error?: string } = manager.startSession('s1', provider, 'hello', options)
if (!res.ok) console.error(res.error)
const r2: SidecarResult = manager.startSession('s2', 'my-provider', 'hi')
if (r2.code === 'ERR_RUNNER_NOT_FOUND') console.error(r2.error)

manager.onMessage('s1', (sessionId: string, messages: AgentMessage[]) => {
  for (const m of messages) {
    if (m.type === 'cost') {
      const cost = m.content as CostContent
      console.log(sessionId, cost.totalCostUsd, m.parentId ?? '', m.timestamp)
    }
  }
})
manager.onStatus('s1', (sessionId: string, status: SessionStatus, error?: string) => {
  console.log(sessionId, status, error)
})
const list: SessionState[] = manager.listSessions()
const first: number = list[0]?.costUsd ?? 0
const info: SessionInfo | null = manager.getSession('s1')
const pid: number | undefined = info?.pid
const d: ManagerDescription = manager.describe()
manager.writePrompt('s1', 'more').ok satisfies boolean
manager.stopSession('s1').ok satisfies boolean
manager.removeSession('s1') satisfies void
const done: Promise<void> = tuned.dispose()
console.log(first, pid, d.state, done)

// Lifecycle events are a discriminated union; resources and limits are typed.
const lifecycleSub = manager.onLifecycle((e: LifecycleEvent) => {
  if (e.kind === 'spawned') e.pid satisfies number
  if (e.kind === 'exited') e.reason satisfies 'exit' | StopReason | 'spawn-failed' | 'build-failed'
  if (e.kind === 'limit') e.limit satisfies keyof Limits
  if (e.kind === 'build-failed') e.output satisfies string
})
lifecycleSub.dispose()
manager.onLifecycle('s1', (e) => e.at satisfies number).dispose()
const costs: ResourceReport = manager.resources()
costs.top.map((c) => `${c.id} ${c.kind} ${c.rssBytes} ${c.cpuMs}`)
const sampled: Promise<ResourceReport> = manager.sampleResources()
const own: Resources | undefined = info?.resources
new SidecarManager({ resourceSampleMs: 1000, limits: { maxRssBytes: 2e9, maxIdleMs: 600_000 }, runnerBuild: { command: ['npm', 'run', 'build'], when: 'stale', watch: ['src'] } })
manager.startSession('s2', 'codex', 'hi', { limits: { maxRuntimeMs: 60_000 } })
console.log(sampled, own)
// @ts-expect-error: unknown limits are refused
manager.startSession('s3', 'codex', 'hi', { limits: { maxRss: 1 } })
// @ts-expect-error: lifecycle kinds are a closed set
manager.onLifecycle((e) => e.kind === 'started')
// @ts-expect-error: status strings are a closed set
const bad: SessionStatus = 'stopped'
// @ts-expect-error: options are typed
new SidecarManager({ stopGraceMs: '3000' })
// @ts-expect-error: runnerNice is a number of nice steps
new SidecarManager({ runnerNice: 'low' })
console.log(bad)

// Terminals.
import { Terminal } from '../index.js'
import type { Disposable, TerminalExit, TerminalInfo, TerminalOptions, TerminalState } from '../index.js'
const termOptions: TerminalOptions = { command: '/bin/bash', args: ['-i'], cwd: '/tmp', env: { FOO: 'bar', DROP: null }, cols: 120, rows: 40, encoding: 'utf8', scrollbackBytes: 0, idleMs: 500, cleanEnv: true, term: 'xterm' }
const term: Terminal = manager.openTerminal('t1', termOptions)
const again: Terminal | null = manager.getTerminal('t1')
const sub: Disposable = term.onData((data: string | Uint8Array) => console.log(data))
sub.dispose()
term.onExit((e: TerminalExit) => console.log(e.exitCode ?? e.signal, e.error))
term.onState((s: TerminalState) => console.log(s))
const accepted: boolean = term.write('ls\n') && term.write(new Uint8Array([3]))
term.resize(100, 30)
term.pause()
term.resume()
term.kill('SIGTERM')
const infos: TerminalInfo[] = manager.listTerminals()
const fg: string | null = term.info().foreground
const back: string | Uint8Array = term.scrollback()
void term.close().then((e: TerminalExit) => console.log(e.signal))
console.log(again, accepted, infos, fg, back, term.pid, term.cols, term.rows, term.id, manager.describe().terminals.length)
// @ts-expect-error: terminals come from openTerminal
new Terminal()
// @ts-expect-error: encoding is "utf8" or null
manager.openTerminal('t2', { encoding: 'latin1' })

// The contract: index.d.ts's unions are the binding's (src/napi/contract.rs), exactly.
import type { ExitReason, LifecycleKind, LimitName, SidecarErrorCode, SidecarLoadErrorCode } from '../index.js'
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
const kindsAreTheContracts: Equal<LifecycleEvent['kind'], LifecycleKind> = true
const limitsAreTheContracts: Equal<keyof Limits, LimitName> = true
const exitReasonsHoldStopReasons: Equal<Extract<ExitReason, StopReason>, StopReason> = true
const statusesAreTheTSManagers: Equal<SessionStatus, 'running' | 'idle' | 'done' | 'error'> = true
const invalid: SidecarErrorCode = 'ERR_INVALID_ARGUMENT'
const legacy: SidecarErrorCode = 'ERR_INVALID_OPTION'
const load: SidecarLoadErrorCode = 'ERR_SIDECAR_NATIVE_NOT_FOUND'
// @ts-expect-error: not a code
const notACode: SidecarErrorCode = 'ERR_NOPE'
console.log(kindsAreTheContracts, limitsAreTheContracts, exitReasonsHoldStopReasons, statusesAreTheTSManagers, invalid, legacy, load, notACode)

// Sandboxes: options at every level, what the machine supports, and the lifecycle events.
import type { SandboxOptions, SandboxSupport, SandboxedEvent, SandboxNetworkCoverage } from '../index.js'
const sandbox: SandboxOptions = { allowWrite: ['~/out'], denyWrite: ['.git/hooks'], denyRead: ['~/.ssh'], network: { allowedDomains: ['*.example.com'] }, onUnsupported: 'warn' }
const confined = new SidecarManager({ sandbox })
new SidecarManager({ sandbox: false })
confined.startSession('s4', 'claude', 'hi', { cwd: '/tmp', sandbox: { network: 'none' } })
confined.startSession('s5', 'claude', 'hi', { sandbox: false })
confined.openTerminal('t3', { command: '/bin/sh', sandbox: { denyRead: ['~/.aws'], network: 'all' } })
const support: SandboxSupport = confined.sandboxSupport()
const fsConfined: boolean = support.filesystem && support.denyPaths
const noneCoverage: SandboxNetworkCoverage = support.network
const proxyCoverage: 'none' | 'tcp' | 'full' = support.allowedDomains
const why: string[] = support.missing
console.log(fsConfined, noneCoverage, proxyCoverage, why, support.mechanism)
confined.onLifecycle((e) => {
  if (e.kind === 'sandboxed') {
    const ev: SandboxedEvent = e
    const asked: 'all' | 'none' | 'allowed-domains' = e.network
    const proxy: string | null = e.proxy
    console.log(ev.mechanism, ev.writable, ev.denyWrite, ev.denyRead, ev.networkCoverage, ev.tempDir, ev.notEnforced, ev.skipped, asked, proxy)
  }
  if (e.kind === 'sandbox-denied') console.log(e.host satisfies string, e.port satisfies number)
})
const unsupported: SidecarErrorCode = 'ERR_SANDBOX_UNSUPPORTED'
console.log(unsupported)
// @ts-expect-error: network is 'all', 'none' or { allowedDomains }
confined.startSession('s6', 'claude', 'hi', { sandbox: { network: 'some' } })
// @ts-expect-error: unknown sandbox keys are refused
new SidecarManager({ sandbox: { denyReads: [] } })
// @ts-expect-error: sandbox is an object or false
new SidecarManager({ sandbox: true })
// @ts-expect-error: the host and port are only on sandbox-denied
confined.onLifecycle((e) => e.kind === 'sandboxed' && e.host)
const coverageIsTheContracts: Equal<SandboxNetworkCoverage, 'none' | 'tcp' | 'full'> = true
const sandboxNetworkIsTheContracts: Equal<SandboxedEvent['network'], 'all' | 'none' | 'allowed-domains'> = true
console.log(coverageIsTheContracts, sandboxNetworkIsTheContracts)
