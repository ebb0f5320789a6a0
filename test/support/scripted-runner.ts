/**
 * A scripted fake of the command layer: each command is answered by the first rule whose pattern
 * matches its printed form; an unscripted command fails the test. Every call is recorded so tests
 * can assert the exact sequence.
 */
import {
  CommandError,
  describeCommand,
  type Command,
  type CommandResult,
  type CommandRunner
} from '../../src/kube/command-runner.js'

export type Reply = Partial<CommandResult> | ((command: Command) => Partial<CommandResult>)

interface Rule {
  pattern: RegExp
  reply: Reply
}

export class ScriptedRunner implements CommandRunner {
  readonly calls: Command[] = []
  private rules: Rule[] = []

  /** Later rules win over earlier ones, so a scenario can override a default. */
  on(pattern: RegExp, reply: Reply): this {
    this.rules.unshift({ pattern, reply })
    return this
  }

  async run(command: Command): Promise<CommandResult> {
    this.calls.push(command)
    const line = describeCommand(command)
    const rule = this.rules.find(r => r.pattern.test(line))
    if (!rule) throw new Error(`unscripted command: ${line}`)
    const partial = typeof rule.reply === 'function' ? rule.reply(command) : rule.reply
    const result: CommandResult = { exitCode: 0, stdout: '', stderr: '', durationMs: 1, ...partial }
    if (result.exitCode !== 0 && !command.allowFailure) {
      throw new CommandError(
        `${line} failed with exit code ${result.exitCode}\n${result.stderr}`,
        command,
        result
      )
    }
    return result
  }

  /** The printed commands, with the lock's and Restore's stdin summarised. */
  lines(): string[] {
    return this.calls.map(c => describeCommand({ ...c, stdin: undefined }))
  }

  /** The printed commands as the run's log shows them (stdin described by `about`). */
  described(): string[] {
    return this.calls.map(c => describeCommand(c))
  }

  mutating(): string[] {
    return this.calls.filter(c => c.mutating).map(c => describeCommand({ ...c, stdin: undefined }))
  }
}
