// Orphan check for the whole run: every process started under this run carries a marker in
// its environment (runners inherit the host's environment). After the last test file, any
// process still carrying it — other than this one — survived the suite: kill it by pid and
// fail the run.
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'

export function setup() {
  process.env.SIDECAR_TEST_MARKER = `sidecar-test-${randomUUID()}`
}

function marked(marker) {
  const found = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker)) {
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        // Zombies are already dead; direct children of this process are vitest's own workers.
        if (fields[0] === 'Z' || Number(fields[1]) === process.pid) continue
        found.push({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim() })
      }
    } catch {
      // gone or not ours to read
    }
  }
  return found
}

export async function teardown() {
  const marker = process.env.SIDECAR_TEST_MARKER
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
