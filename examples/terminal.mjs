// Your shell through the package, in this terminal: `npm run terminal`.
//   Ctrl-] detaches (the shell keeps running); Enter re-attaches, replaying its scrollback first.
//   The shell's exit (Ctrl-D, `exit`) ends the demo.
import { SidecarManager } from '../index.mjs'

if (!process.stdin.isTTY || !process.stdout.isTTY) {
  console.error('examples/terminal.mjs needs a terminal (stdin and stdout).')
  process.exit(1)
}

const manager = new SidecarManager()
const term = manager.openTerminal('main', { cols: process.stdout.columns, rows: process.stdout.rows })
let attached = true

term.onData((data) => attached && process.stdout.write(data))
term.onExit(async ({ exitCode, signal }) => {
  process.stdin.setRawMode(false)
  process.stdin.pause()
  process.stdout.write(`\r\n[shell ended: ${signal ?? `exit code ${exitCode}`}]\r\n`)
  await manager.dispose()
})
process.stdout.on('resize', () => term.resize(process.stdout.columns, process.stdout.rows))

process.stdin.setRawMode(true)
process.stdin.on('data', (keys) => {
  if (!attached) {
    if (!keys.includes(0x0d)) return
    // Re-attach: clear the screen, replay what the shell wrote, then go live again.
    process.stdout.write('\x1bc')
    process.stdout.write(term.scrollback())
    attached = true
    return
  }
  if (keys[0] === 0x1d) {
    attached = false
    process.stdout.write(`\r\n[detached: ${term.info().foreground ?? 'the shell'} keeps running; Enter re-attaches]\r\n`)
    return
  }
  term.write(keys)
})
