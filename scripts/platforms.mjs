// What `npm run package` builds and how: one source of truth for scripts/package.mjs and
// scripts/package-check.sh.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Oldest glibc the gnu builds load on. Pinned through zig (`cargo zigbuild --target
 * <triple>.<floor>`): the addon links against that glibc's symbol versions whatever the build
 * machine has. 2.17 is also the oldest glibc Rust's std supports.
 */
export const GLIBC_FLOOR = '2.17'

/**
 * Per Rust target: the napi-rs platform name, what the build needs, and the `napi build`
 * arguments. Linux and macOS go through zig (`zigTarget`: `napi build -x`, i.e.
 * cargo-zigbuild): one toolchain for every Linux, and the glibc pin for the gnu ones. Windows
 * is linked by mingw-w64 (`mingw`: plain `napi build` with that gcc as the linker): `napi
 * build -x` refuses windows-gnu targets (it would hand them to cargo-xwin, MSVC only), and
 * cargo-zigbuild cannot link napi-build's `-lnode` against a DLL without an import library.
 * The mingw link already takes libgcc's unwinder and winpthreads statically (rustc passes
 * `-lgcc_eh -l:libpthread.a`), so the DLL imports only system DLLs without extra flags; the
 * package check reads its import table to keep it so.
 */
export const TARGETS = {
  'x86_64-unknown-linux-gnu': { platform: 'linux-x64-gnu', zigTarget: `x86_64-unknown-linux-gnu.${GLIBC_FLOOR}` },
  'aarch64-unknown-linux-gnu': { platform: 'linux-arm64-gnu', zigTarget: `aarch64-unknown-linux-gnu.${GLIBC_FLOOR}` },
  'x86_64-unknown-linux-musl': { platform: 'linux-x64-musl', zigTarget: 'x86_64-unknown-linux-musl' },
  // Linked by zig without Apple's SDK (only libSystem is needed); not run here, see the README.
  'aarch64-apple-darwin': { platform: 'darwin-arm64', zigTarget: 'aarch64-apple-darwin' },
  'x86_64-apple-darwin': { platform: 'darwin-x64', zigTarget: 'x86_64-apple-darwin' },
  // A mingw DLL that loads in the MSVC-built node.exe and bun.exe: napi's `dyn-symbols`
  // (Cargo.toml) resolves napi_* from the host process at load time.
  'x86_64-pc-windows-gnu': { platform: 'win32-x64-gnu', mingw: 'x86_64-w64-mingw32-gcc' },
}

/**
 * Makes the platform packages of `napi create-npm-dirs` installable where they belong. The CLI
 * gives every `-gnu` target `libc: ["glibc"]`, windows-gnu too; npm (npm-install-checks)
 * knows a libc only on Linux and treats a package that names one as unsupported anywhere
 * else, so npm on Windows (and `npm install --os=win32`) would skip win32-x64-gnu. `libc`
 * stays on Linux packages only. Rewrites `<npmDir>/<platform>/package.json` in place, in the
 * CLI's own format; returns the platforms changed.
 *
 * @param {string} npmDir
 * @returns {string[]}
 */
export function fixNpmDirs(npmDir) {
  const changed = []
  for (const dir of readdirSync(npmDir)) {
    const file = join(npmDir, dir, 'package.json')
    if (!existsSync(file)) continue
    const manifest = JSON.parse(readFileSync(file, 'utf8'))
    if (manifest.libc === undefined || (manifest.os ?? []).includes('linux')) continue
    delete manifest.libc
    writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`)
    changed.push(dir)
  }
  return changed
}
