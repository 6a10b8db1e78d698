// The smallest runner for the package check: answers each query with one Claude-format turn
// (a text naming the prompt, a result with cost and usage) and exits at stop or end of stdin.
import { createInterface } from 'node:readline'

const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
send({ type: 'ready' })
createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line)
  if (msg.type === 'stop') process.exit(0)
  if (msg.type !== 'query') return
  const sessionId = msg.sessionId
  send({ type: 'agent_started', sessionId })
  send({ type: 'agent_event', sessionId, event: { type: 'system', subtype: 'init', session_id: 'check', model: 'check-model', tools: [] } })
  send({
    type: 'agent_event',
    sessionId,
    event: { type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text: `echo: ${msg.prompt}` }] } },
  })
  send({
    type: 'agent_event',
    sessionId,
    event: { type: 'result', subtype: 'success', total_cost_usd: 0.25, usage: { input_tokens: 3, output_tokens: 5 }, result: 'ok' },
  })
  send({ type: 'agent_stopped', sessionId })
}).on('close', () => process.exit(0))
