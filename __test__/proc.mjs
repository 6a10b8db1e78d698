// Process facts for tests: /proc on Linux, ps/lsof where /proc is missing (macOS).
//
// Every function is synchronous because its callers are (waitFor predicates, filters). On
// Linux each reads /proc exactly as the tests did before this module existed; the other
// branch is written for macOS's BSD ps and lsof, from their sources and manuals:
//   ps(1):     apple-oss-distributions/adv_cmds ps/ps.1, ps/keyword.c, ps/print.c
//              (also https://keith.github.io/xcode-man-pages/ps.1.html)
//   lsof(8):   https://man.freebsd.org/cgi/man.cgi?manpath=macOS+26.3&query=lsof&sektion=8
//   /dev/fd:   XNU bsd/miscfs/devfs/devfs_fdesc_support.c, devfs_devfd_readdir
//
// PROC_TESTS_FORCE_PS=1 takes the ps branch even where /proc exists. It is only there to
// check that branch on Linux, whose procps spells two ps options differently (PS_ENV and
// psThreads below); nothing else in the branch differs between the two.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, unlinkSync } from 'node:fs'
import { getPriority } from 'node:os'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * Windows has neither /proc nor ps. Under Wine, `Z:\\proc` is the Linux host's /proc, which
 * describes the Linux processes Wine runs, not the Windows processes the tests start: it must
 * not be read there. On win32 the functions below say so where a test would call them.
 */
export const IS_WINDOWS = process.platform === 'win32'

export const HAS_PROC = !IS_WINDOWS && !process.env.PROC_TESTS_FORCE_PS && existsSync('/proc/self/stat')

/** Why `threadNames()` returns null here, or null where it works. */
export const WHY_NO_THREAD_NAMES = HAS_PROC
  ? null
  : IS_WINDOWS
    ? 'thread names need /proc, which Windows does not have'
    : 'thread names need /proc: ps -M lists threads without their names'

/** Why descriptor and thread counts of this process cannot be read here (`fdCount`, `threadCount`), or null. */
export const WHY_NO_FD_THREAD_COUNTS = IS_WINDOWS
  ? 'descriptor and thread counts need /proc or ps; Windows has handles, not descriptors, and neither tool'
  : null

/**
 * Removes a flat folder of files (the tests' pid and script folders) file by file: Bun 1.4.5
 * on Wine 8 fails every recursive `rmSync` with EFAULT, even of an empty folder.
 */
export function removeFlatDir(dir) {
  try {
    for (const f of readdirSync(dir)) unlinkSync(join(dir, f))
    rmdirSync(dir)
  } catch (e) {
    if (e.code !== 'ENOENT') throw e
  }
}

function notOnWindows(what) {
  if (IS_WINDOWS) throw new Error(`proc.mjs: ${what} has no Windows implementation (no /proc, no ps)`)
}

const PROCPS = process.platform === 'linux'
// BSD ps: -E appends the environment to `command`; procps has no -E, its BSD-style `e` does the same.
const PS_ENV = PROCPS ? ['e'] : ['-E']
// BSD ps: -M prints one line per thread after a header line; procps uses -M for security
// labels and lists threads with -L.
const psThreads = (pid) => (PROCPS ? { args: ['-L', '-o', 'lwp=', '-p', pid], header: 0 } : { args: ['-M', '-p', pid], header: 1 })

function ps(args) {
  try {
    return execFileSync('ps', args.map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 })
  } catch (e) {
    // Both ps exit 1 with nothing printed when no process matched (a pid that is gone): an
    // answer, not a failure (adv_cmds ps.c: `if (nkept == 0) exit(1)`).
    if (e.status === 1 && !String(e.stdout ?? '').trim()) return ''
    throw e
  }
}

const lines = (out) => out.split('\n').filter((l) => l.trim() !== '')

/** Fields of /proc/<pid>/stat after the command name, which is parenthesised and may hold spaces. */
function statFields(pid, encoding = 'utf8') {
  const stat = readFileSync(`/proc/${pid}/stat`, encoding)
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

// Session ids. Without /proc nothing on the command line prints one on macOS: its ps has no
// `sid` keyword and `sess` is the kernel's session pointer (keyword.c: KPTR e_sess), which
// XNU no longer fills in (kern_sysctl.c fill_user64_eproc), so it reads 0 for every process;
// pgrep/pkill -s are compiled out on Apple (adv_cmds pkill/pkill.c, `#ifndef __APPLE__`).
// getsid(2) is what the addon itself uses (proc_listpids + getsid). Node has no FFI; Bun,
// which the suite also runs on and is a devDependency, has, so Bun calls getsid.
const GETSID = `
const { dlopen } = require('bun:ffi')
const libc = dlopen(process.platform === 'darwin' ? '/usr/lib/libSystem.B.dylib' : 'libc.so.6', {
  getsid: { args: ['i32'], returns: 'i32' },
})
console.log(process.argv.slice(1).map((pid) => libc.symbols.getsid(Number(pid))).join(' '))
`

function bun() {
  if (process.versions.bun) return process.execPath
  return join(dirname(createRequire(import.meta.url).resolve('bun/package.json')), 'bin', 'bun.exe')
}

/** getsid(2) of each pid, -1 for a pid that is gone. */
function sessionIds(pids) {
  if (pids.length === 0) return []
  const out = execFileSync(bun(), ['-e', GETSID, ...pids.map(String)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const sids = out.trim().split(' ').map(Number)
  if (sids.length !== pids.length || sids.some((s) => !Number.isInteger(s))) {
    throw new Error(`getsid through Bun: expected ${pids.length} session ids, got ${JSON.stringify(out)}`)
  }
  return sids
}

/** The one-letter run state of `pid` (`Z` for a zombie), or null when it cannot be read (gone). */
export function stateOf(pid) {
  notOnWindows('stateOf')
  if (HAS_PROC) {
    try {
      return statFields(pid)[0][0]
    } catch {
      return null
    }
  }
  const stat = ps(['-o', 'stat=', '-p', pid]).trim()
  return stat ? stat[0] : null
}

export const isZombie = (pid) => stateOf(pid) === 'Z'

/** { state, ppid, pgid, sid } of `pid`, or null when it cannot be read (gone). */
export function procState(pid) {
  notOnWindows('procState')
  if (HAS_PROC) {
    try {
      const [state, ppid, pgid, sid] = statFields(pid)
      return { state, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid) }
    } catch {
      return null
    }
  }
  const row = ps(['-o', 'stat=,ppid=,pgid=', '-p', pid]).trim()
  if (!row) return null
  const [stat, ppid, pgid] = row.split(/\s+/)
  const [sid] = sessionIds([pid])
  return sid === -1 ? null : { state: stat[0], ppid: Number(ppid), pgid: Number(pgid), sid }
}

/** Live processes of session `sid` (by session id, not process group: a terminal's jobs). */
export function sessionMembers(sid) {
  notOnWindows('sessionMembers')
  if (HAS_PROC) {
    const out = []
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
        const [state, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        if (Number(session) === sid && state !== 'Z') out.push(Number(name))
      } catch {}
    }
    return out
  }
  // macOS lists kernel_task as pid 0, and getsid(0) would answer for the caller.
  const live = lines(ps(['-A', '-o', 'pid=,stat=']))
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, stat]) => Number(pid) > 0 && stat[0] !== 'Z')
    .map(([pid]) => Number(pid))
  const sids = sessionIds(live)
  return live.filter((_, i) => sids[i] === sid)
}

/**
 * Processes other than this one whose environment (as they were started with) contains
 * `marker`: [{ pid, ppid, state, cmd }].
 *
 * Without /proc this is `ps -E`, which shows the environment only of the user's own
 * processes (print.c) and, on recent macOS, not of code-signing-restricted ones (XNU
 * kern_sysctl.c sysctl_procargsx omits their environment): a caller relying on finding
 * every marked process should check with a probe that it can see one.
 */
export function environMarked(marker) {
  notOnWindows('environMarked')
  const found = []
  if (HAS_PROC) {
    for (const name of readdirSync('/proc')) {
      const pid = Number(name)
      if (!Number.isInteger(pid) || pid === process.pid) continue
      try {
        if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker)) {
          const [state, ppid] = statFields(pid, 'latin1')
          found.push({ pid, ppid: Number(ppid), state, cmd: readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim() })
        }
      } catch {
        // gone or not ours to read
      }
    }
    return found
  }
  for (const line of lines(ps([...PS_ENV, '-ww', '-A', '-o', 'pid=,ppid=,stat=,command=']))) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line)
    if (!m || Number(m[1]) === process.pid || !m[4].includes(marker)) continue
    found.push({ pid: Number(m[1]), ppid: Number(m[2]), state: m[3][0], cmd: null })
  }
  // The listing above has the environment appended to each command line: ask again without it.
  for (const p of found) p.cmd = ps(['-ww', '-o', 'command=', '-p', p.pid]).trim()
  return found
}

/** Targets of `pid`'s numbered descriptors (paths, `pipe:[…]`, …; '' where unreadable). */
export function fdTargets(pid) {
  notOnWindows('fdTargets')
  if (HAS_PROC) {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        return ''
      }
    })
  }
  // lsof -F: one field per line, its first character names it; `f` (descriptor) starts each
  // file's group and `n` is its name. cwd, txt and mapped files have non-numeric `f` values,
  // which /proc/<pid>/fd does not list either. -w: no warnings, -n -P: no name lookups.
  const lsof = existsSync('/usr/sbin/lsof') ? '/usr/sbin/lsof' : 'lsof'
  const out = execFileSync(lsof, ['-w', '-n', '-P', '-Ffn', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
  const targets = []
  let numbered = false
  for (const line of out.split('\n')) {
    if (line[0] === 'f') {
      numbered = /^\d+$/.test(line.slice(1))
      if (numbered) targets.push('')
    } else if (line[0] === 'n' && numbered) {
      targets[targets.length - 1] = line.slice(1)
    }
  }
  return targets
}

/** Open descriptors of this process. */
export function fdCount() {
  notOnWindows('fdCount')
  // Both lists include the descriptor that reads them; callers compare counts taken alike.
  return readdirSync(HAS_PROC ? '/proc/self/fd' : '/dev/fd').length
}

/** Threads of this process. */
export function threadCount() {
  notOnWindows('threadCount')
  if (HAS_PROC) return readdirSync('/proc/self/task').length
  const { args, header } = psThreads(process.pid)
  return lines(ps(args)).length - header
}

/** Names of this process's threads, or null where they cannot be read (see WHY_NO_THREAD_NAMES). */
export function threadNames() {
  if (!HAS_PROC) return null
  return readdirSync('/proc/self/task').flatMap((t) => {
    try {
      return [readFileSync(`/proc/self/task/${t}/comm`, 'utf8')]
    } catch {
      return []
    }
  })
}

/** Resident set size of this process, in MB. */
export function rssMB() {
  if (HAS_PROC) return Number(readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024
  return process.memoryUsage().rss / 1048576
}

/** Nice value of process `pid`. */
export function niceOf(pid) {
  // Field 19 of /proc/<pid>/stat; the command name before it is parenthesised.
  if (HAS_PROC) return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[16])
  // getpriority(PRIO_PROCESS, pid): on macOS the process's nice value. On Windows libuv maps
  // the priority class to a nice value: idle 19, below normal 10, normal 0 (os.getPriority).
  return getPriority(pid)
}
