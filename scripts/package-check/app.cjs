const { SidecarManager } = require('@agor/sidecar-native')
require('./session.cjs').run(SidecarManager, 'require')
