// Type-checked by the package check against the installed package's index.d.ts.
import { SidecarManager, type SessionState, type SessionStatus } from '@agor/sidecar-native'

const manager = new SidecarManager({ runnerRoot: '/tmp', stopGraceMs: 100 })
const res = manager.startSession('s1', 'claude', 'hi', { cwd: '/tmp' })
if (!res.ok) console.log(res.error)
manager.onStatus('s1', (_id: string, status: SessionStatus) => console.log(status))
const sessions: SessionState[] = manager.listSessions()
console.log(sessions.length)
void manager.dispose()
