/** Running the testbed's binaries (kubectl, helm, tar…): argv arrays, no shell. */
import { execFile } from 'node:child_process'

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv
  stdin?: string
  /** Kill the process after this long (default: no limit). */
  timeoutMs?: number
}

/** Runs `file` and reports how it ended; a non-zero exit is a result, not an error. */
export function exec(file: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise(resolve => {
    const child = execFile(
      file,
      args,
      { env: opts.env, maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 0 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
      }
    )
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin)
  })
}

/** As exec(), but a non-zero exit rejects, naming the command and its stderr. */
export async function execOk(
  file: string,
  args: string[],
  opts: ExecOptions = {}
): Promise<string> {
  const r = await exec(file, args, opts)
  if (r.code !== 0) {
    throw new Error(
      `${file.split('/').pop()} ${args.join(' ')}: ${r.stderr || `exit code ${r.code}`}`
    )
  }
  return r.stdout
}
