/**
 * Runs the committed bundle as a runner runs it (INPUT_* env, RUNNER_TEMP, RUNNER_TOOL_CACHE), with
 * everything it could contact pointed at one local server that records each connection: the tool
 * mirrors, the kubeconfig's API server and the S3 endpoint. kubectl and helm on PATH leave a trace
 * if anything starts them.
 */
import { execFile } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BUNDLE = join(import.meta.dirname, '..', '..', 'dist', 'index.js')
export const BACKUP_BUNDLE = join(import.meta.dirname, '..', '..', 'dist', 'backup', 'index.js')

export interface BundleRun {
  code: number
  /** stdout and stderr. */
  out: string
  /** What the run wrote to GITHUB_STEP_SUMMARY and GITHUB_OUTPUT. */
  summary: string
  outputs: string
}

export class BundleHarness {
  dir = ''
  /** http://127.0.0.1:<port> */
  base = ''
  port = 0
  /** Request paths and connections since the last `reset`. */
  requests: string[] = []
  connections = 0
  private server: Server | undefined
  private runs = 0

  /** `bundle`: the entry to run (default dist/index.js; the companion's is BACKUP_BUNDLE). */
  constructor(private readonly bundle: string = BUNDLE) {}

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'rr-bundle-'))
    const bin = join(this.dir, 'bin')
    mkdirSync(bin)
    mkdirSync(join(this.dir, 'tool-cache'))
    for (const tool of ['kubectl', 'helm']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "$0" >> ${join(this.dir, 'started')}\n`)
      chmodSync(join(bin, tool), 0o755)
    }
    const server = createServer((req, res) => {
      this.requests.push(req.url ?? '')
      res.statusCode = 404
      res.end()
    })
    server.on('connection', () => {
      this.connections++
    })
    // A TLS ClientHello (the S3 client) is not HTTP: the connection above still counts it.
    server.on('clientError', (_err, socket) => socket.destroy())
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
    const address = server.address()
    this.port = typeof address === 'object' && address ? address.port : 0
    this.base = `http://127.0.0.1:${this.port}`
    this.server = server
  }

  async stop(): Promise<void> {
    await new Promise<void>(r => (this.server ? this.server.close(() => r()) : r()))
    rmSync(this.dir, { recursive: true, force: true })
  }

  reset(): void {
    this.requests = []
    this.connections = 0
  }

  /** A kubeconfig whose API server is the recording server. */
  kubeconfig(extraUser = ''): string {
    return `apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster:
      server: https://127.0.0.1:${this.port}
contexts:
  - name: local
    context: { cluster: local, user: admin }
current-context: local
users:
  - name: admin
    user:
      token: harness-token-0123456789${extraUser}
`
  }

  /** Nothing started, downloaded, cached or contacted. */
  untouched(): { started: boolean; connections: number; cached: string[] } {
    return {
      started: existsSync(join(this.dir, 'started')),
      connections: this.connections,
      cached: readdirSync(join(this.dir, 'tool-cache'))
    }
  }

  run(inputs: Record<string, string>): Promise<BundleRun> {
    const n = ++this.runs
    const summaryFile = join(this.dir, `summary-${n}.md`)
    const outputFile = join(this.dir, `output-${n}`)
    writeFileSync(summaryFile, '')
    writeFileSync(outputFile, '')
    writeFileSync(join(this.dir, `state-${n}`), '')
    const env: Record<string, string> = {
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STATE: join(this.dir, `state-${n}`),
      PATH: `${join(this.dir, 'bin')}:/usr/bin:/bin`,
      RUNNER_TEMP: this.dir,
      RUNNER_TOOL_CACHE: join(this.dir, 'tool-cache'),
      'INPUT_S3-BUCKET-NAME': 'rancher-backups',
      'INPUT_BACKUP-FILENAME': 'latest',
      'INPUT_HELM-MIRROR': this.base,
      'INPUT_KUBECTL-MIRROR': this.base,
      'INPUT_S3-ENDPOINT': `127.0.0.1:${this.port}`,
      INPUT_KUBECONFIG: this.kubeconfig()
    }
    for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
    return new Promise(resolve => {
      execFile(
        process.execPath,
        [this.bundle],
        { env, timeout: 30_000 },
        (error, stdout, stderr) => {
          resolve({
            code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
            out: stdout + stderr,
            summary: readFileSync(summaryFile, 'utf8'),
            outputs: readFileSync(outputFile, 'utf8')
          })
        }
      )
    })
  }
}

/**
 * The lines of the output as the runner splits them (at LF, CR or CRLF) that it would take as a
 * workflow command: `::` after leading white space (ActionCommand.TryParseV2), or `##[`
 * anywhere (ActionCommand.TryParse).
 */
export function commandLines(out: string): string[] {
  return out.split(/\r\n|\r|\n/).filter(line => /^\s*::/u.test(line) || line.includes('##['))
}
