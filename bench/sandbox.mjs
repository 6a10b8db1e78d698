// Sandbox figures (issue 17), medians of 3 rounds in one run, configurations interleaved:
//   spawn   startSession → lifecycle `ready` (sinceStartMs) of a runner in sh
//           (bench/sandbox-root-sh: no Node start-up in the figure), 10 sessions a round one
//           after another (a round's figure: the mean of its 8 middle values, as sinceStartMs
//           is whole milliseconds), in a host holding 512 MB of touched memory (the cost a
//           fork-based confinement would pay; the helper's posix_spawn does not):
//             none       no sandbox (setpriv for the death signal, as before)
//             landlock   sandbox {}: the helper, Landlock (files, scopes), private TMPDIR
//             full       sandbox with denyWrite (mount namespace, pins) and network "none"
//                        (network namespace): every mechanism at once
//   proxy   256 MiB from a TCP source on the host's loopback, read by the runner: directly
//           (no sandbox) vs through the manager's proxy (sandbox with allowedDomains
//           ["127.0.0.1"], HTTP CONNECT) — throughput ratio, goal ≥ 0.8×.
// Usage: node bench/sandbox.mjs   (Linux; needs `npm run build`, which builds the helper)
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const { SidecarManager } = createRequire(import.meta.url)('../index.js')
const HERE = dirname(fileURLToPath(import.meta.url))
const ROUNDS = 3
const SPAWNS = 10
const BYTES = 256 * 1024 * 1024
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ballast = Buffer.alloc(512 * 1024 * 1024, 1) // touched: the host's page tables are real

const work = mkdtempSync(join(tmpdir(), 'sidecar-bench-sandbox-'))
mkdirSync(join(work, '.git'))
const manager = () =>
  new SidecarManager({ runnerRoot: join(HERE, 'sandbox-root'), claudePath: join(HERE, 'sandbox-runner.mjs'), runtime: process.execPath, cleanupGraceMs: 0 })
const shManager = () =>
  new SidecarManager({ runnerRoot: join(HERE, 'sandbox-root-sh'), claudePath: join(HERE, 'sandbox-runner.mjs'), runtime: '/bin/sh', cleanupGraceMs: 0 })

const SANDBOXES = {
  none: false,
  landlock: {},
  full: { denyWrite: ['.git'], network: 'none' },
}

async function spawnRound(name) {
  const m = shManager()
  const times = []
  for (let i = 0; i < SPAWNS; i++) {
    const id = `s${i}`
    // Callbacks of an id are registered after its startSession (which starts them afresh).
    const r = m.startSession(id, 'claude', 'hi', { cwd: work, sandbox: SANDBOXES[name] })
    if (!r.ok) throw new Error(`${name}: ${r.error}`)
    const ready = new Promise((resolve) => m.onLifecycle(id, (e) => e.kind === 'ready' && resolve(e.sinceStartMs)))
    const done = new Promise((resolve) => m.onStatus(id, (_id, s) => (s === 'done' || s === 'error') && resolve(s)))
    times.push(await ready)
    await done
  }
  await m.dispose()
  // sinceStartMs is whole milliseconds: the mean of the 8 middle values resolves tenths.
  const mid = [...times].sort((a, b) => a - b).slice(1, -1)
  return mid.reduce((a, b) => a + b, 0) / mid.length
}

/** A TCP source: reads "<n>\n", writes n bytes. */
function source() {
  const chunk = Buffer.alloc(256 * 1024, 7)
  const server = net.createServer((s) => {
    s.once('data', async (d) => {
      let left = Number.parseInt(d.toString(), 10)
      while (left > 0) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left)
        left -= part.length
        if (!s.write(part)) await new Promise((r) => s.once('drain', r))
      }
    })
    s.on('error', () => {})
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function downloadRound(viaProxy, port) {
  const m = manager()
  const texts = []
  const sandbox = viaProxy ? { network: { allowedDomains: ['127.0.0.1'] } } : false
  // The runner finds the proxy in its HTTPS_PROXY.
  const r = m.startSession('d', 'claude', JSON.stringify({ download: { port, bytes: BYTES, proxy: viaProxy ? 'env' : null } }), { cwd: work, sandbox })
  if (!r.ok) throw new Error(r.error)
  m.onMessage('d', (_id, msgs) => {
    for (const x of msgs) if (x.type === 'text') texts.push(x.content.text)
  })
  await new Promise((resolve) => m.onStatus('d', (_id, s) => (s === 'done' || s === 'error') && resolve(s)))
  await m.dispose()
  const t = texts.find((x) => x.startsWith('took|') || x.startsWith('error|'))
  if (!t || t.startsWith('error|')) throw new Error(`download ${viaProxy ? 'via proxy' : 'direct'}: ${t}`)
  return BYTES / 1024 / 1024 / (Number(t.split('|')[1]) / 1000)
}

const spawn = { none: [], landlock: [], full: [] }
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? ['full', 'landlock', 'none'] : ['none', 'landlock', 'full']
  for (const name of order) spawn[name].push(await spawnRound(name))
}
const server = await source()
const port = server.address().port
const tput = { direct: [], proxy: [] }
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [true, false] : [false, true]
  for (const viaProxy of order) tput[viaProxy ? 'proxy' : 'direct'].push(await downloadRound(viaProxy, port))
}
server.close()
rmSync(work, { recursive: true, force: true })

const f = (x) => x.toFixed(2)
console.log(`sandbox bench (host ballast ${ballast.length / 1024 / 1024} MiB, ${ROUNDS} rounds, medians)`)
for (const name of Object.keys(spawn)) {
  const extra = name === 'none' ? '' : `  (+${f(median(spawn[name]) - median(spawn.none))} ms)`
  console.log(`  spawn→ready ${name.padEnd(9)} ${f(median(spawn[name]))} ms  rounds [${spawn[name].map(f).join(', ')}]${extra}`)
}
const ratio = median(tput.proxy) / median(tput.direct)
console.log(`  256 MiB direct           ${f(median(tput.direct))} MiB/s  rounds [${tput.direct.map(f).join(', ')}]`)
console.log(`  256 MiB via the proxy    ${f(median(tput.proxy))} MiB/s  rounds [${tput.proxy.map(f).join(', ')}]`)
console.log(`  proxy / direct           ${f(ratio)}×  (goal ≥ 0.8×)`)
