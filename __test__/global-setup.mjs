// Orphan check for the whole run: every process started under this run carries a marker in
// its environment (runners inherit the host's environment). After the last test file, any
// process still carrying it — other than this one — survived the suite: kill it by pid and
// fail the run.
import { randomUUID } from 'node:crypto'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { HAS_PROC, environMarked } from './proc.mjs'

export function setup() {
  process.env.SIDECAR_TEST_MARKER = `sidecar-test-${randomUUID()}`
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
