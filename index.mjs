// ESM entry: a static import of the CommonJS entry, so Node, Bun and bundlers (`bun build`,
// `bun build --compile`) all see one module graph and there is one copy of the class.
import cjs from './index.js'

export const SidecarManager = cjs.SidecarManager
export const Terminal = cjs.Terminal
export default cjs.SidecarManager
