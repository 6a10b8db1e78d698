// A minimal Mach-O reader for the package check: the file is a 64-bit dylib for the expected
// CPU and its symbol table exports `_napi_register_module_v1` (what Node and Bun look up).
//
//   node macho.mjs <file.node> <arm64|x64>     prints one line, exits 1 if anything differs

import { readFileSync } from 'node:fs'

const [file, arch] = process.argv.slice(2)
const CPU = { arm64: 0x0100000c, x64: 0x01000007 }
const MH_MAGIC_64 = 0xfeedfacf
const MH_DYLIB = 6
const LC_SYMTAB = 0x2
const N_EXT = 0x01
const N_TYPE = 0x0e
const N_SECT = 0x0e

function fail(why) {
  console.error(`${file}: ${why}`)
  process.exit(1)
}

const b = readFileSync(file)
if (b.readUInt32LE(0) !== MH_MAGIC_64) fail('not a 64-bit Mach-O file')
const cpu = b.readUInt32LE(4)
if (cpu !== CPU[arch]) fail(`CPU type 0x${cpu.toString(16)}, expected ${arch}`)
if (b.readUInt32LE(12) !== MH_DYLIB) fail(`file type ${b.readUInt32LE(12)}, expected a dylib (6)`)
const ncmds = b.readUInt32LE(16)
let at = 32
const exported = []
for (let i = 0; i < ncmds; i++) {
  const cmd = b.readUInt32LE(at)
  const size = b.readUInt32LE(at + 4)
  if (cmd === LC_SYMTAB) {
    const symoff = b.readUInt32LE(at + 8)
    const nsyms = b.readUInt32LE(at + 12)
    const stroff = b.readUInt32LE(at + 16)
    for (let s = 0; s < nsyms; s++) {
      const e = symoff + s * 16
      const type = b[e + 4]
      if (!(type & N_EXT) || (type & N_TYPE) !== N_SECT) continue
      const start = stroff + b.readUInt32LE(e)
      exported.push(b.toString('latin1', start, b.indexOf(0, start)))
    }
  }
  at += size
}
if (!exported.includes('_napi_register_module_v1')) fail('does not export _napi_register_module_v1')
console.log(`  ${file.split('/').pop()}: Mach-O 64-bit dylib, ${arch}, ${exported.length} exported symbols, _napi_register_module_v1 among them`)
