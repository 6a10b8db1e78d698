// Orphan check for the whole run: every process started under this run carries a marker in
// its environment (runners inherit the host's environment). After the last test file, any
// process still carrying it — other than this one — survived the suite: kill it by pid and
// fail the run.
//
// Windows has no /proc or ps to read another process's environment (and under Wine
// `Z:\\proc` is the Linux host's /proc, not a list of Windows processes). There the check is
// by pid instead: every fixture runner records its pid and its children's in a folder for the
// whole run (SIDECAR_TEST_RUN_PIDS, fixtures/fake-runner.mjs). Each test's teardown checks its
// runners' pids at once and moves their records to `<folder>.checked` (helpers.mjs); after
// the last file every record no test checked must name a pid that is gone
// (`process.kill(pid, 0)`). Checked records are not looked at again: Windows (and Wine, which
// hands out small pids) reuses pids, so a pid seen dead long ago may name another process now.
import { randomUUID } from 'node:crypto'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HAS_PROC, IS_WINDOWS, environMarked, removeFlatDir } from './proc.mjs'

export function setup() {
  process.env.SIDECAR_TEST_MARKER = `sidecar-test-${randomUUID()}`
  if (IS_WINDOWS) {
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-run-pids-'))
    mkdirSync(`${dir}.checked`)
    process.env.SIDECAR_TEST_RUN_PIDS = dir
  }
}

/** Windows: pids recorded by the fixture runners of the whole run that are still running. */
function recordedAlive(dir) {
  const pids = new Set()
  for (const f of readdirSync(dir)) {
    try {
      const rec = JSON.parse(readFileSync(join(dir, f), 'utf8'))
      for (const pid of [rec.runner, rec.grandchild, ...(rec.children ?? [])]) if (pid) pids.add(pid)
    } catch {}
  }
  const alive = (pid) => {
    try {
      process.kill(pid, 0)
      return true
    } catch (e) {
      return e.code === 'EPERM'
    }
  }
  return { recorded: pids.size, left: [...pids].filter(alive) }
}

async function teardownWindows() {
  const dir = process.env.SIDECAR_TEST_RUN_PIDS
  const checked = recordedAlive(`${dir}.checked`).recorded
  let { recorded, left } = recordedAlive(dir)
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100))
    left = recordedAlive(dir).left
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  removeFlatDir(dir)
  removeFlatDir(`${dir}.checked`)
  if (left.length) throw new Error(`orphan check (win32, by recorded pid): ${left.length} process(es) outlived the suite: ${JSON.stringify(left)}`)
  if (recorded + checked === 0) {
    console.log('orphan check on win32: no fixture runner ran in these files, so no pid was recorded to check')
    return
  }
  console.log(
    `orphan check on win32: by pid, not by environment marker (no /proc or ps on Windows): ` +
      `${checked} pids recorded by fixture runners were checked gone by their tests' teardown, ` +
      `and the ${recorded} no teardown checked are gone now; terminal programs record none and are checked by their own tests`,
  )
}

function marked(marker) {
  // Zombies are already dead; direct children of this process are vitest's own workers.
  return environMarked(marker)
    .filter((p) => p.state !== 'Z' && p.ppid !== process.pid)
    .map(({ pid, cmd }) => ({ pid, cmd }))
}

/**
 * Whether the marker can be seen in a process this one starts. Without /proc the environment
 * comes from `ps -E`, which shows nothing for processes macOS keeps it from (see
 * environMarked): there, not finding a survivor would not mean there is none.
 */
async function markerVisible(marker) {
  // The binary helpers.mjs starts the runners with.
  const node = process.env.TEST_NODE || (process.versions.bun ? 'node' : process.execPath)
  const probe = spawn(node, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' })
  await once(probe, 'spawn')
  try {
    return environMarked(marker).some((p) => p.pid === probe.pid)
  } finally {
    const exited = once(probe, 'exit')
    probe.kill('SIGKILL')
    await exited
  }
}

export async function teardown() {
  if (IS_WINDOWS) return teardownWindows()
  const marker = process.env.SIDECAR_TEST_MARKER
  if (!HAS_PROC && !(await markerVisible(marker))) {
    console.warn(`orphan check SKIPPED on ${process.platform}: ps -E does not show the environment of a process started by this one, so survivors of the suite cannot be found by their marker`)
    return
  }
  // Test workers are exiting right now; give them a moment to be gone.
  let left = marked(marker)
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100))
    left = marked(marker)
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {}
  }
  if (left.length) {
    throw new Error(`orphan check: ${left.length} process(es) outlived the suite: ${JSON.stringify(left)}`)
  }
  console.log('orphan check: no process outlived the suite')
}
