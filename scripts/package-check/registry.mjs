// A read-only npm registry on 127.0.0.1 serving the tarballs of one folder, so the package
// check can install `@agor/sidecar-native` by name exactly as a user does after a release:
// npm and Bun pick the platform package from the optionalDependencies by os/cpu/libc, and
// their lock files record every platform package (installing the tarballs by path cannot do
// that: the other platforms' packages are unknown, and `npm ci` then refuses the lock file).
//
//   node registry.mjs <dir-with-tgz> <port-file>   writes the chosen port, serves until killed
//
// Only what installs need: GET /<name> (the packument) and GET /-/<file>.tgz. Anything else,
// and any package not in the folder, is a 404 (no proxying: the check must not need it).

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'

const [dir, portFile] = process.argv.slice(2)
if (!dir || !portFile) {
  console.error('usage: node registry.mjs <dir-with-tgz> <port-file>')
  process.exit(2)
}

const files = new Map() // tarball file name → bytes
const packages = new Map() // package name → { version → manifest }
for (const file of readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
  const bytes = readFileSync(join(dir, file))
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', join(dir, file), 'package/package.json'], { encoding: 'utf8' }))
  files.set(file, bytes)
  const versions = packages.get(manifest.name) ?? {}
  versions[manifest.version] = {
    ...manifest,
    _id: `${manifest.name}@${manifest.version}`,
    dist: {
      file,
      shasum: createHash('sha1').update(bytes).digest('hex'),
      integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    },
  }
  packages.set(manifest.name, versions)
}

// Versions compared part by part as numbers (0.10.0 after 0.9.0); enough for x.y.z.
const newer = (a, b) => {
  const pa = a.split(/[.-]/).map(Number)
  const pb = b.split(/[.-]/).map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) > (pb[i] || 0)
  return false
}

const server = createServer((req, res) => {
  let url
  try {
    url = decodeURIComponent(new URL(req.url, 'http://x').pathname)
  } catch {
    res.writeHead(400)
    res.end()
    return
  }
  const base = `http://127.0.0.1:${server.address().port}`
  if (url.startsWith('/-/') && files.has(url.slice(3))) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.end(files.get(url.slice(3)))
    return
  }
  const versions = packages.get(url.slice(1))
  if (req.method !== 'GET' || !versions) {
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end('{"error":"not found"}')
    return
  }
  const out = {}
  for (const [v, m] of Object.entries(versions)) {
    const { file, ...dist } = m.dist
    out[v] = { ...m, dist: { ...dist, tarball: `${base}/-/${file}` } }
  }
  const latest = Object.keys(out).reduce((a, b) => (newer(b, a) ? b : a))
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ name: url.slice(1), 'dist-tags': { latest }, versions: out }))
})
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)))
