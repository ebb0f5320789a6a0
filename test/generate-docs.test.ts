import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

type Action = { inputs: Record<string, unknown>; outputs: Record<string, unknown> }
type Options = Record<string, unknown>

/** The shape of scripts/generate-docs.mjs (plain JavaScript, so typed here). */
interface GenerateDocs {
  ACTION_PATH: string
  BACKUP_ACTION_PATH: string
  README_PATH: string
  escapeCell(text: string): string
  parseAction(actionYaml: string): Action
  renderInputs(action: Action): string
  renderOutputs(action: Action): string
  prettierOptions(filePath?: string): Promise<Options>
  renderReadme(
    readme: string,
    actionYaml: string,
    options?: Options,
    prefix?: string
  ): Promise<string>
  driftedSections(
    readme: string,
    actionYaml: string,
    options?: Options,
    prefix?: string
  ): Promise<string[]>
  main(
    argv: string[],
    paths?: {
      action?: string
      actions?: { path: string; prefix: string }[]
      readme?: string
    }
  ): Promise<number>
}

const modulePath = new URL('../scripts/generate-docs.mjs', import.meta.url).href
let docs: GenerateDocs
let options: Options

beforeAll(async () => {
  docs = (await import(modulePath)) as GenerateDocs
  options = await docs.prettierOptions()
})

const ACTION = `name: test
description: test
inputs:
  first:
    description: The first | input.
    default: 'one'
  second:
    description: |
      Line one.
      Line two.
    required: true
    default: ''
  third:
    description: Optional.
    default: ''
outputs:
  result:
    description: What | happened.
`

const README = `# title

Intro text.

<!-- start inputs -->
<!-- end inputs -->

Middle text.

<!-- start outputs -->
old
<!-- end outputs -->

Footer.
`

describe('rendering', () => {
  it('escapes pipes and newlines in a cell', () => {
    expect(docs.escapeCell('a | b\nc\r\nd ')).toBe('a \\| b<br>c<br>d')
  })

  it('renders an inputs table with description and default', () => {
    const table = docs.renderInputs(docs.parseAction(ACTION))
    expect(table.split('\n')).toEqual([
      '| Input | Description | Default |',
      '| --- | --- | --- |',
      '| `first` | The first \\| input. | `one` |',
      '| `second` | Line one.<br>Line two. | **required** |',
      '| `third` | Optional. |  |'
    ])
  })

  it('renders an outputs table', () => {
    const table = docs.renderOutputs(docs.parseAction(ACTION))
    expect(table.split('\n')).toEqual([
      '| Output | Description |',
      '| --- | --- |',
      '| `result` | What \\| happened. |'
    ])
  })

  it('replaces only the text between the markers', async () => {
    const readme = await docs.renderReadme(README, ACTION, options)
    expect(readme.startsWith('# title\n\nIntro text.\n\n<!-- start inputs -->\n\n| Input')).toBe(
      true
    )
    expect(readme).toContain('\n\n<!-- end inputs -->\n\nMiddle text.\n\n<!-- start outputs -->\n')
    expect(readme).not.toContain('old')
    expect(readme.endsWith('<!-- end outputs -->\n\nFooter.\n')).toBe(true)
    // Idempotent, and nothing drifts afterwards.
    expect(await docs.renderReadme(readme, ACTION, options)).toBe(readme)
    expect(await docs.driftedSections(readme, ACTION, options)).toEqual([])
  })

  it('names the section that drifted when a description changes', async () => {
    const readme = await docs.renderReadme(README, ACTION, options)
    const changedInput = ACTION.replace('The first | input.', 'The first input, reworded.')
    expect(await docs.driftedSections(readme, changedInput, options)).toEqual(['inputs'])
    const changedOutput = ACTION.replace('What | happened.', 'What happened.')
    expect(await docs.driftedSections(readme, changedOutput, options)).toEqual(['outputs'])
  })

  it('fails clearly when a marker is missing', async () => {
    await expect(docs.renderReadme('# no markers\n', ACTION, options)).rejects.toThrow(
      /<!-- start inputs -->/
    )
  })
})

describe('command line', () => {
  let dir: string | undefined

  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('--check fails naming the section and writes nothing; a plain run fixes it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'generate-docs-'))
    const paths = { action: join(dir, 'action.yml'), readme: join(dir, 'README.md') }
    writeFileSync(paths.action, ACTION)
    writeFileSync(paths.readme, README)
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    vi.spyOn(console, 'log').mockImplementation(() => {})

    expect(await docs.main(['--check'], paths)).toBe(1)
    expect(readFileSync(paths.readme, 'utf8')).toBe(README)
    const reported = errors.mock.calls.map(call => String(call[0])).join('\n')
    expect(reported).toMatch(/section 'inputs'.*run npm run docs/)
    expect(reported).toMatch(/section 'outputs'.*run npm run docs/)

    expect(await docs.main([], paths)).toBe(0)
    expect(await docs.main(['--check'], paths)).toBe(0)

    writeFileSync(paths.action, ACTION.replace('Optional.', 'Optional, reworded.'))
    errors.mockClear()
    expect(await docs.main(['--check'], paths)).toBe(1)
    expect(errors.mock.calls.map(call => String(call[0]))).toEqual([
      "README.md section 'inputs' is out of date with action.yml: run npm run docs"
    ])
  })

  it('rejects unknown arguments', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    expect(await docs.main(['--fix'])).toBe(2)
  })
})

describe('a second action, with prefixed sections', () => {
  const TWO = `${README}
<!-- start backup-inputs -->
<!-- end backup-inputs -->

<!-- start backup-outputs -->
<!-- end backup-outputs -->
`
  const SECOND = ACTION.replace('The first | input.', 'The companion’s first input.').replace(
    'result:',
    'backup-filename:'
  )

  it('renders each action into its own sections, leaving the other’s alone', async () => {
    const one = await docs.renderReadme(TWO, ACTION, options)
    const both = await docs.renderReadme(one, SECOND, options, 'backup-')
    expect(await docs.driftedSections(both, ACTION, options)).toEqual([])
    expect(await docs.driftedSections(both, SECOND, options, 'backup-')).toEqual([])
    const companion = both.slice(both.indexOf('<!-- start backup-inputs -->'))
    expect(companion).toContain('The companion’s first input.')
    expect(companion).toContain('`backup-filename`')
    expect(both.slice(0, both.indexOf('<!-- start backup-inputs -->'))).not.toContain('companion')
  })

  it('--check names the companion’s section and its action.yml', async () => {
    dir = mkdtempSync(join(tmpdir(), 'generate-docs-'))
    const paths = {
      readme: join(dir, 'README.md'),
      actions: [
        { path: join(dir, 'action.yml'), prefix: '' },
        { path: join(dir, 'backup-action.yml'), prefix: 'backup-' }
      ]
    }
    writeFileSync(paths.actions[0]!.path, ACTION)
    writeFileSync(paths.actions[1]!.path, SECOND)
    writeFileSync(paths.readme, TWO)
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    vi.spyOn(console, 'log').mockImplementation(() => {})
    expect(await docs.main([], paths)).toBe(0)
    expect(await docs.main(['--check'], paths)).toBe(0)
    writeFileSync(paths.actions[1]!.path, SECOND.replace('Optional.', 'Optional, reworded.'))
    expect(await docs.main(['--check'], paths)).toBe(1)
    expect(errors.mock.calls.map(call => String(call[0]))).toEqual([
      "README.md section 'backup-inputs' is out of date with backup/action.yml: run npm run docs"
    ])
  })

  let dir: string | undefined
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })
})

describe('the real README', () => {
  it('is current with action.yml and backup/action.yml (run npm run docs if this fails)', async () => {
    const readme = readFileSync(docs.README_PATH, 'utf8')
    for (const [path, prefix] of [
      [docs.ACTION_PATH, ''],
      [docs.BACKUP_ACTION_PATH, 'backup-']
    ] as const) {
      const actionYaml = readFileSync(path, 'utf8')
      expect(await docs.driftedSections(readme, actionYaml, options, prefix)).toEqual([])
      for (const name of Object.keys(docs.parseAction(actionYaml).inputs)) {
        expect(readme).toContain(`\`${name}\``)
      }
    }
  })
})
