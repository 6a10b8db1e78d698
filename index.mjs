// ESM entry: the same class as the CommonJS entry (one copy of the addon either way).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const mod = require('./index.js')

export const SidecarManager = mod.SidecarManager
export default mod.SidecarManager
