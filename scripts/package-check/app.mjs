import { SidecarManager } from '@agor/sidecar-native'
import session from './session.cjs'
session.run(SidecarManager, 'import')
