'use strict'
// One real session through the installed package, shared by every app of the package check:
// status running → messages → done, listSessions, dispose, and no runner left. Prints one
// line and exits 0, or prints why and exits 1 (also after 30 s).
const path = require('node:path')

function fail(label, why) {
  console.error(`${label}: FAIL ${why}`)
  process.exit(1)
}

function run(SidecarManager, label) {
  const root = process.env.APP_RUNNER_ROOT
  if (!root) fail(label, 'APP_RUNNER_ROOT is not set')
  const timer = setTimeout(() => fail(label, 'no done within 30 s'), 30_000)
  const manager = new SidecarManager({
    runnerRoot: root,
    claudePath: path.join(root, 'sidecar', 'dist', 'claude-runner.mjs'),
    runtime: process.env.APP_RUNTIME || 'node',
  })
  // APP_SANDBOX=1: the same session confined (the helper in the platform package must be
  // found, run and enforce: a `sandboxed` event with Landlock).
  const sandboxed = process.env.APP_SANDBOX === '1'
  const events = []
  if (sandboxed) {
    label = `${label} sandboxed`
    const support = manager.sandboxSupport()
    if (support.mechanism !== 'landlock') fail(label, `sandboxSupport: ${JSON.stringify(support)}`)
    manager.onLifecycle('s1', (e) => events.push(e))
  }
  const res = manager.startSession('s1', 'claude', `hello from ${label}`, { cwd: root, ...(sandboxed ? { sandbox: {} } : {}) })
  if (!res.ok) fail(label, `startSession: ${res.error} (${res.code})`)
  const statuses = []
  const texts = []
  manager.onMessage('s1', (_id, messages) => {
    for (const m of messages) if (m.type === 'text') texts.push(m.content.text)
  })
  manager.onStatus('s1', (_id, status, error) => {
    statuses.push(status)
    if (status === 'error') fail(label, `status error: ${error}`)
    if (status !== 'done') return
    const listed = manager.listSessions()
    const s = listed.find((x) => x.sessionId === 's1')
    if (!s || s.status !== 'done' || s.costUsd !== 0.25 || s.outputTokens !== 5) fail(label, `listSessions: ${JSON.stringify(listed)}`)
    if (statuses[0] !== 'running') fail(label, `statuses ${statuses.join(' → ')}`)
    if (!texts.includes(`echo: hello from ${label}`)) fail(label, `texts ${JSON.stringify(texts)}`)
    const kinds = events.map((e) => e.kind)
    if (sandboxed && (kinds[kinds.indexOf('spawned') + 1] !== 'sandboxed' || events.find((e) => e.kind === 'sandboxed').mechanism !== 'landlock')) {
      fail(label, `lifecycle ${JSON.stringify(events)}`)
    }
    const pid = manager.getSession('s1').pid
    manager.dispose().then(() => {
      clearTimeout(timer)
      let alive = true
      try {
        process.kill(pid, 0)
      } catch (e) {
        alive = e.code !== 'ESRCH'
      }
      if (alive) fail(label, `runner ${pid} still alive after dispose()`)
      const engine = process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.versions.node}`
      console.log(`${label}: ok (${engine}, ${process.arch}): ${statuses.join(' → ')}, ${texts.length} text, $${s.costUsd}, runner ${pid} gone after dispose()`)
    }, (e) => fail(label, `dispose: ${e}`))
  })
}

module.exports = { run }
