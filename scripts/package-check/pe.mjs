// A minimal PE reader for the package check: the file is a 64-bit x86-64 DLL exporting
// `napi_register_module_v1` (what Node and Bun look up), and every DLL it imports, directly or
// delay-loaded, is part of Windows. A mingw build that needs libgcc_s_seh-1.dll,
// libwinpthread-1.dll or libstdc++-6.dll loads only where MSYS2 happens to be on PATH, and one
// that imports libnode.dll / node.exe only in that one engine (napi is resolved from the host
// process at load time instead: napi's `dyn-symbols`).
//
//   node pe.mjs <file.node>     prints one line, exits 1 if anything differs

import { readFileSync } from 'node:fs'

const [file] = process.argv.slice(2)

/**
 * DLLs every Windows 10+ x64 installation has in System32, lower case. Rust's std and tokio
 * use kernel32, ntdll, userenv, ws2_32, bcryptprimitives (ProcessPrng) and API sets; mingw's
 * C runtime is msvcrt. Others here are Windows' own and harmless should a dependency start
 * using them. `api-ms-win-*` API sets are matched by prefix below (resolved by the loader to
 * Windows' own DLLs); `ext-ms-win-*` are not: they may be absent on some editions.
 */
const SYSTEM_DLLS = new Set([
  'kernel32.dll',
  'kernelbase.dll',
  'ntdll.dll',
  'advapi32.dll',
  'userenv.dll',
  'ws2_32.dll',
  'mswsock.dll',
  'bcrypt.dll',
  'bcryptprimitives.dll',
  'msvcrt.dll',
  'ucrtbase.dll',
  'user32.dll',
  'shell32.dll',
  'ole32.dll',
  'oleaut32.dll',
  'shlwapi.dll',
  'psapi.dll',
  'dbghelp.dll',
  'iphlpapi.dll',
  'secur32.dll',
  'crypt32.dll',
  'ncrypt.dll',
  'rpcrt4.dll',
  'powrprof.dll',
  'version.dll',
  'winmm.dll',
])
const isSystem = (dll) => SYSTEM_DLLS.has(dll.toLowerCase()) || /^api-ms-win-[a-z0-9-]+\.dll$/i.test(dll)

const IMAGE_FILE_MACHINE_AMD64 = 0x8664
const IMAGE_FILE_DLL = 0x2000
const PE32_PLUS = 0x20b
const DIR_EXPORT = 0
const DIR_IMPORT = 1
const DIR_DELAY_IMPORT = 13

function fail(why) {
  console.error(`${file}: ${why}`)
  process.exit(1)
}

const b = readFileSync(file)
if (b.length < 0x40 || b.readUInt16LE(0) !== 0x5a4d) fail('not a PE file (no MZ header)')
const pe = b.readUInt32LE(0x3c)
if (pe + 24 > b.length || b.readUInt32LE(pe) !== 0x00004550) fail('not a PE file (no PE signature)')
const machine = b.readUInt16LE(pe + 4)
if (machine !== IMAGE_FILE_MACHINE_AMD64) fail(`machine 0x${machine.toString(16)}, expected x86-64 (0x8664)`)
const sections = b.readUInt16LE(pe + 6)
const optSize = b.readUInt16LE(pe + 20)
if (!(b.readUInt16LE(pe + 22) & IMAGE_FILE_DLL)) fail('not a DLL (IMAGE_FILE_DLL is not set)')
const opt = pe + 24
if (b.readUInt16LE(opt) !== PE32_PLUS) fail('not PE32+ (64-bit)')
const dirCount = b.readUInt32LE(opt + 108)
const dir = (i) => (i < dirCount ? { rva: b.readUInt32LE(opt + 112 + 8 * i), size: b.readUInt32LE(opt + 116 + 8 * i) } : { rva: 0, size: 0 })

const table = []
for (let i = 0, at = opt + optSize; i < sections; i++, at += 40) {
  table.push({ va: b.readUInt32LE(at + 12), vsize: b.readUInt32LE(at + 8), rawSize: b.readUInt32LE(at + 16), raw: b.readUInt32LE(at + 20) })
}
function offset(rva) {
  const s = table.find((s) => rva >= s.va && rva < s.va + Math.max(s.vsize, s.rawSize))
  if (!s || rva - s.va >= s.rawSize) fail(`RVA 0x${rva.toString(16)} is in no section's file data`)
  return s.raw + (rva - s.va)
}
function cstring(rva) {
  const start = offset(rva)
  const end = b.indexOf(0, start)
  if (end < 0) fail(`unterminated name at RVA 0x${rva.toString(16)}`)
  return b.toString('latin1', start, end)
}

// Import descriptors: 20 bytes each (Name at +12), ended by an all-zero one.
const imports = []
const imp = dir(DIR_IMPORT)
if (imp.rva) {
  for (let at = offset(imp.rva); ; at += 20) {
    const name = b.readUInt32LE(at + 12)
    if (name === 0 && b.readUInt32LE(at + 16) === 0) break
    imports.push(cstring(name))
  }
}
// Delay-load descriptors: 32 bytes each (DllNameRVA at +4), ended by a zero name.
const delayed = []
const delay = dir(DIR_DELAY_IMPORT)
if (delay.rva) {
  for (let at = offset(delay.rva); ; at += 32) {
    const name = b.readUInt32LE(at + 4)
    if (name === 0) break
    delayed.push(cstring(name))
  }
}
// Export directory: NumberOfNames at +24, AddressOfNames (RVAs of names) at +32.
const exported = []
const exp = dir(DIR_EXPORT)
if (exp.rva) {
  const at = offset(exp.rva)
  const names = b.readUInt32LE(at + 24)
  const list = offset(b.readUInt32LE(at + 32))
  for (let i = 0; i < names; i++) exported.push(cstring(b.readUInt32LE(list + 4 * i)))
}

if (!exported.includes('napi_register_module_v1')) fail(`does not export napi_register_module_v1 (exports: ${exported.join(', ') || 'none'})`)
if (imports.length === 0) fail('imports no DLL at all?')
const foreign = [...imports, ...delayed].filter((d) => !isSystem(d))
if (foreign.length) {
  fail(`imports DLLs that are not part of Windows: ${[...new Set(foreign)].join(', ')} (all: ${imports.join(' ')}${delayed.length ? `; delay-loaded: ${delayed.join(' ')}` : ''})`)
}
console.log(
  `PE32+ x86-64 DLL exporting ${exported.join(', ')}; imports ${[...new Set(imports)].join(' ')}` +
    `${delayed.length ? `; delay-loaded ${delayed.join(' ')}` : ''} (all part of Windows)`,
)
