#!/usr/bin/env node
// Runner of bench/sandbox.mjs (plain Node): prints {"type":"ready"}; a query whose prompt is
// {"download":{"port":P,"bytes":N,"proxy":"127.0.0.1:Q"|null}} reads N bytes from the bench's
// TCP source on 127.0.0.1:P — through an HTTP CONNECT tunnel of the proxy when given, else
// directly — and answers one text "took|<ms>", then ends the turn. Any other prompt ends the
// turn at once.
import net from 'node:net'
import readline from 'node:readline'

const line = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const text = (sessionId, t) => line({ type: 'agent_event', sessionId, event: { type: 'assistant', uuid: `u${Date.now()}`, message: { content: [{ type: 'text', text: t }] } } })
const done = (sessionId) => {
  line({ type: 'agent_event', sessionId, event: { type: 'result', uuid: 'r', total_cost_usd: 0, usage: { input_tokens: 1, output_tokens: 1 } } })
  line({ type: 'agent_stopped', sessionId })
}

/** A socket to 127.0.0.1:port, through a CONNECT tunnel of `proxy` when given. */
function connect(port, proxy) {
  return new Promise((resolve, reject) => {
    if (!proxy) {
      const s = net.connect(port, '127.0.0.1', () => resolve(s))
      s.once('error', reject)
      return
    }
    const [host, p] = proxy.split(':')
    const s = net.connect(Number(p), host, () => s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`))
    s.once('error', reject)
    let head = Buffer.alloc(0)
    const onData = (d) => {
      head = Buffer.concat([head, d])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      s.off('data', onData)
      if (!/^HTTP\/1\.[01] 200/.test(head.toString('latin1'))) return reject(new Error(head.toString('latin1', 0, end)))
      const rest = head.subarray(end + 4)
      if (rest.length) s.unshift(rest)
      resolve(s)
    }
    s.on('data', onData)
  })
}

async function download({ port, bytes, proxy }) {
  // "env": the proxy the sandbox put in HTTPS_PROXY (http://127.0.0.1:<port>).
  if (proxy === 'env') proxy = new URL(process.env.HTTPS_PROXY).host
  const t0 = performance.now()
  const s = await connect(port, proxy)
  s.write(`${bytes}\n`)
  let got = 0
  for await (const chunk of s) {
    got += chunk.length
    if (got >= bytes) break
  }
  s.destroy()
  return performance.now() - t0
}

line({ type: 'ready' })
for await (const l of readline.createInterface({ input: process.stdin })) {
  let msg
  try {
    msg = JSON.parse(l)
  } catch {
    continue
  }
  if (msg.type === 'stop') process.exit(0)
  if (msg.type !== 'query') continue
  let cfg = {}
  try {
    cfg = JSON.parse(msg.prompt)
  } catch {}
  if (cfg.download) {
    try {
      text(msg.sessionId, `took|${await download(cfg.download)}`)
    } catch (e) {
      text(msg.sessionId, `error|${e.message}`)
    }
  }
  done(msg.sessionId)
}
