// What `npm run package` builds and how: one source of truth for scripts/package.mjs and
// scripts/package-check.sh.

/**
 * Oldest glibc the gnu builds load on. Pinned through zig (`cargo zigbuild --target
 * <triple>.<floor>`): the addon links against that glibc's symbol versions whatever the build
 * machine has. 2.17 is also the oldest glibc Rust's std supports.
 */
export const GLIBC_FLOOR = '2.17'

/**
 * Per Rust target: the napi-rs platform name, what the build needs, and the `napi build`
 * arguments. Every target goes through zig (`napi build -x`, i.e. cargo-zigbuild): one
 * toolchain for every Linux, and the glibc pin for the gnu ones.
 */
export const TARGETS = {
  'x86_64-unknown-linux-gnu': { platform: 'linux-x64-gnu', zigTarget: `x86_64-unknown-linux-gnu.${GLIBC_FLOOR}` },
  'aarch64-unknown-linux-gnu': { platform: 'linux-arm64-gnu', zigTarget: `aarch64-unknown-linux-gnu.${GLIBC_FLOOR}` },
  'x86_64-unknown-linux-musl': { platform: 'linux-x64-musl', zigTarget: 'x86_64-unknown-linux-musl' },
  // Linked by zig without Apple's SDK (only libSystem is needed); not run here, see the README.
  'aarch64-apple-darwin': { platform: 'darwin-arm64', zigTarget: 'aarch64-apple-darwin' },
  'x86_64-apple-darwin': { platform: 'darwin-x64', zigTarget: 'x86_64-apple-darwin' },
}
