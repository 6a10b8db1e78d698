'use strict'
// Finds and loads the native addon built for this machine.
//
// Hand-written instead of napi-rs's generated loader for two reasons:
// - libc: the generated loader decides musl vs glibc from the text of /usr/bin/ldd, which
//   describes the distribution, not this process (a glibc AppImage or a Node binary with its
//   own runtime on Alpine, a container with another libc's ldd: napi-rs issue 3223). Here the
//   answer comes from the C library actually mapped into this process.
// - errors: a missing platform package names the platform and the exact package to install.
//
// Every `require` below is a literal so that bundlers see it: `bun build` copies the .node of
// the installed platform package beside the bundle, and `bun build --compile` embeds it.

const { readFileSync } = require('node:fs')

const PACKAGE = '@agor/sidecar-native'

/**
 * The platforms this package ships, as napi-rs names them (`<platform>-<arch>[-<abi>]`).
 * Must be exactly the targets of `napi.targets` in package.json (a test checks it).
 */
const PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'darwin-arm64', 'darwin-x64', 'win32-x64-gnu']

// Each `require` of an addon is a literal directly inside a `try` block: bundlers (Bun,
// esbuild) then bundle the ones that resolve and leave the others to fail at run time.

/** A development build beside this file (`npm run build`), or `{ error }`. */
function requireLocal(name) {
  try {
    switch (name) {
      case 'linux-x64-gnu':
        return { binding: require('./sidecar-native.linux-x64-gnu.node') }
      case 'linux-arm64-gnu':
        return { binding: require('./sidecar-native.linux-arm64-gnu.node') }
      case 'linux-x64-musl':
        return { binding: require('./sidecar-native.linux-x64-musl.node') }
      case 'darwin-arm64':
        return { binding: require('./sidecar-native.darwin-arm64.node') }
      case 'darwin-x64':
        return { binding: require('./sidecar-native.darwin-x64.node') }
      case 'win32-x64-gnu':
        return { binding: require('./sidecar-native.win32-x64-gnu.node') }
    }
  } catch (error) {
    return { error }
  }
  return { error: null }
}

/** The installed platform package's addon and version, or `{ error }`. */
function requirePackage(name) {
  try {
    switch (name) {
      case 'linux-x64-gnu':
        return { binding: require('@agor/sidecar-native-linux-x64-gnu'), version: packageVersion(name) }
      case 'linux-arm64-gnu':
        return { binding: require('@agor/sidecar-native-linux-arm64-gnu'), version: packageVersion(name) }
      case 'linux-x64-musl':
        return { binding: require('@agor/sidecar-native-linux-x64-musl'), version: packageVersion(name) }
      case 'darwin-arm64':
        return { binding: require('@agor/sidecar-native-darwin-arm64'), version: packageVersion(name) }
      case 'darwin-x64':
        return { binding: require('@agor/sidecar-native-darwin-x64'), version: packageVersion(name) }
      case 'win32-x64-gnu':
        return { binding: require('@agor/sidecar-native-win32-x64-gnu'), version: packageVersion(name) }
    }
  } catch (error) {
    return { error }
  }
  return { error: null }
}

/** The platform package's version, or null where a bundle left its package.json out. */
function packageVersion(name) {
  try {
    switch (name) {
      case 'linux-x64-gnu':
        return require('@agor/sidecar-native-linux-x64-gnu/package.json').version
      case 'linux-arm64-gnu':
        return require('@agor/sidecar-native-linux-arm64-gnu/package.json').version
      case 'linux-x64-musl':
        return require('@agor/sidecar-native-linux-x64-musl/package.json').version
      case 'darwin-arm64':
        return require('@agor/sidecar-native-darwin-arm64/package.json').version
      case 'darwin-x64':
        return require('@agor/sidecar-native-darwin-x64/package.json').version
      case 'win32-x64-gnu':
        return require('@agor/sidecar-native-win32-x64-gnu/package.json').version
    }
  } catch {
    // The addon itself loaded; only the version check is skipped.
  }
  return null
}

/**
 * Which C library this process runs on: `'musl'`, `'glibc'`, or `null` off Linux.
 *
 * In order of trust: the C library mapped into this process (`/proc/self/maps`), the engine's
 * diagnostic report (`glibcVersionRuntime` is set only when the engine runs on glibc), then the
 * distribution's `ldd`. Each source is a parameter so the decision can be tested.
 *
 * @param {{ platform?: string, maps?: () => string | null, report?: () => any, ldd?: () => string | null }} [src]
 * @returns {'musl' | 'glibc' | null}
 */
function detectLibc(src = {}) {
  const platform = src.platform ?? process.platform
  if (platform !== 'linux') return null
  const maps = (src.maps ?? readMaps)()
  if (maps) {
    // The dynamic loader decides (a process has exactly one): ld-musl-<arch>.so.1 or
    // ld-linux-*.so.N. Without a loader of either name, libc.so.6 is glibc's, and a mapped
    // libc.so is musl's (Debian's musl package installs its loader under that name; glibc's
    // libc.so is a linker script and is never mapped).
    if (/\/ld-musl-[^/\n]*$/m.test(maps)) return 'musl'
    if (/\/ld-linux[^/\n]*\.so\.\d$/m.test(maps)) return 'glibc'
    if (/\/libc\.so\.6$/m.test(maps)) return 'glibc'
    if (/\/(libc\.musl-[^/\n]*|libc\.so)$/m.test(maps)) return 'musl'
  }
  const report = (src.report ?? readReport)()
  if (report) {
    if (report.header && report.header.glibcVersionRuntime) return 'glibc'
    if (Array.isArray(report.sharedObjects) && report.sharedObjects.some((f) => /(ld-musl-|libc\.musl-)/.test(f))) {
      return 'musl'
    }
  }
  const ldd = (src.ldd ?? readLdd)()
  if (ldd && ldd.includes('musl')) return 'musl'
  return 'glibc'
}

function readMaps() {
  try {
    return readFileSync('/proc/self/maps', 'latin1')
  } catch {
    return null
  }
}

function readReport() {
  try {
    if (!process.report || typeof process.report.getReport !== 'function') return null
    // The report is the app's own setting too: leave it as it was.
    const excludeNetwork = process.report.excludeNetwork
    process.report.excludeNetwork = true
    try {
      return process.report.getReport()
    } finally {
      process.report.excludeNetwork = excludeNetwork
    }
  } catch {
    return null
  }
}

function readLdd() {
  try {
    return readFileSync('/usr/bin/ldd', 'latin1')
  } catch {
    return null
  }
}

/**
 * The platform package for this machine as napi-rs names it, e.g. `linux-x64-gnu`. On Windows
 * the suffix is the build's, not the machine's: the Windows addon is a mingw (`gnu`) DLL, and
 * it loads in the MSVC-built node.exe and bun.exe alike (napi is resolved from the host at
 * load time), so every Windows engine takes `win32-<arch>-gnu`.
 */
function platformName(src = {}) {
  const platform = src.platform ?? process.platform
  const arch = src.arch ?? process.arch
  if (platform === 'linux') return `linux-${arch}-${detectLibc(src) === 'musl' ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-gnu`
  return `${platform}-${arch}`
}

function notFound(err) {
  return err && (err.code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)/.test(String(err.message)))
}

function loadError(message, code, causes) {
  const err = new Error(message, causes.length ? { cause: causes.length === 1 ? causes[0] : new AggregateError(causes, 'load attempts') } : undefined)
  err.code = code
  return err
}

/**
 * Loads the addon for this machine or throws an Error (with `.code`) saying what to install.
 * `src` overrides what `platformName` reads and the two loaders (tests only).
 */
function load(src = {}) {
  const name = platformName(src)
  const fromLocal = src.requireLocal ?? requireLocal
  const fromPackage = src.requirePackage ?? requirePackage
  if (!PLATFORMS.includes(name)) {
    throw loadError(`${PACKAGE} has no native build for ${name} (built: ${PLATFORMS.join(', ')}).`, 'ERR_SIDECAR_UNSUPPORTED_PLATFORM', [])
  }
  const version = require('./package.json').version
  const causes = []
  const local = fromLocal(name)
  if (local.binding) return local.binding
  if (local.error && !notFound(local.error)) causes.push(local.error)
  const pkg = fromPackage(name)
  if (pkg.binding) {
    if (pkg.version !== null && pkg.version !== version) {
      throw loadError(
        `${PACKAGE}@${version} needs ${PACKAGE}-${name}@${version}, but ${pkg.version} is installed: ` +
          `run \`npm install ${PACKAGE}-${name}@${version}\`.`,
        'ERR_SIDECAR_NATIVE_VERSION',
        [],
      )
    }
    return pkg.binding
  }
  if (notFound(pkg.error) && causes.length === 0) {
    throw loadError(
      `${PACKAGE}: the native addon for this machine (${name}) is not installed. ` +
        `Install it with \`npm install ${PACKAGE}-${name}@${version}\`. It is an optional dependency of ${PACKAGE}, ` +
        'so it is left out by --omit=optional / --no-optional, and when a lock file made on another platform is ' +
        'reused: then reinstall without those.',
      'ERR_SIDECAR_NATIVE_NOT_FOUND',
      [pkg.error],
    )
  }
  causes.push(pkg.error)
  throw loadError(
    `${PACKAGE}: the native addon for ${name} could not be loaded: ${causes.map((c) => c.message).join('; ')}`,
    'ERR_SIDECAR_NATIVE_LOAD',
    causes,
  )
}

module.exports = { load, detectLibc, platformName, PLATFORMS }
