#!/usr/bin/env node
/**
 * Keeps README.md's input and output tables generated from action.yml, and those of the backup
 * companion from backup/action.yml (sections `backup-inputs`, `backup-outputs`).
 *
 *   node scripts/generate-docs.mjs          rewrite the sections between the markers
 *   node scripts/generate-docs.mjs --check  write nothing; exit 1 naming each section that drifted
 *
 * The tables are formatted with prettier (the repo's config) so `prettier --write README.md`
 * leaves them unchanged and `--check` stays green after formatting.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { load } from 'js-yaml'
import * as prettier from 'prettier'

export const ACTION_PATH = fileURLToPath(new URL('../action.yml', import.meta.url))
export const BACKUP_ACTION_PATH = fileURLToPath(new URL('../backup/action.yml', import.meta.url))
export const README_PATH = fileURLToPath(new URL('../README.md', import.meta.url))

/** The generated sections of one action, in README order. */
export const SECTIONS = ['inputs', 'outputs']

/** Each action and the prefix of its sections' markers (`<!-- start backup-inputs -->`). */
export const ACTIONS = [
  { path: ACTION_PATH, prefix: '' },
  { path: BACKUP_ACTION_PATH, prefix: 'backup-' }
]

/** Escapes text for one markdown table cell: pipes escaped, newlines as <br>. */
export function escapeCell(text) {
  return String(text ?? '')
    .trim()
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, '<br>')
}

function codeCell(text) {
  const value = String(text)
  if (value === '') return ''
  // A code span cannot hold a backtick it opens with; use a longer fence when the text has one.
  const fence = value.includes('`') ? '``' : '`'
  return `${fence}${value.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}${fence}`
}

/** Parses action.yml text into `{ inputs, outputs }` maps (empty when absent). */
export function parseAction(actionYaml) {
  const action = load(actionYaml)
  if (action === null || typeof action !== 'object' || Array.isArray(action)) {
    throw new Error('action.yml is not a YAML mapping')
  }
  return { inputs: action.inputs ?? {}, outputs: action.outputs ?? {} }
}

/** Markdown table of the inputs: input, description, default. */
export function renderInputs(action) {
  const rows = Object.entries(action.inputs).map(([name, input]) => {
    const spec = input ?? {}
    const fallback = spec.default === undefined ? '' : String(spec.default)
    const defaultCell =
      spec.required === true && fallback === '' ? '**required**' : codeCell(fallback)
    return `| \`${name}\` | ${escapeCell(spec.description)} | ${defaultCell} |`
  })
  return ['| Input | Description | Default |', '| --- | --- | --- |', ...rows].join('\n')
}

/** Markdown table of the outputs: output, description. */
export function renderOutputs(action) {
  const rows = Object.entries(action.outputs).map(
    ([name, output]) => `| \`${name}\` | ${escapeCell(output?.description)} |`
  )
  return ['| Output | Description |', '| --- | --- |', ...rows].join('\n')
}

async function formatMarkdown(markdown, options) {
  return (await prettier.format(markdown, { ...options, parser: 'markdown' })).trim()
}

/** Prettier options as the repo configures them for README.md. */
export async function prettierOptions(filePath = README_PATH) {
  return (await prettier.resolveConfig(filePath)) ?? {}
}

/** The formatted body of every generated section, keyed by section name. */
export async function renderSections(actionYaml, options = {}) {
  const action = parseAction(actionYaml)
  return {
    inputs: await formatMarkdown(renderInputs(action), options),
    outputs: await formatMarkdown(renderOutputs(action), options)
  }
}

function markers(section) {
  return [`<!-- start ${section} -->`, `<!-- end ${section} -->`]
}

function findSection(readme, section) {
  const [start, end] = markers(section)
  const startAt = readme.indexOf(start)
  const endAt = readme.indexOf(end, startAt === -1 ? 0 : startAt)
  if (startAt === -1 || endAt === -1) {
    throw new Error(`README.md has no '${start}' ... '${end}' markers`)
  }
  return { from: startAt + start.length, to: endAt }
}

/**
 * README text with every generated section of one action (markers named `<prefix>inputs`,
 * `<prefix>outputs`) replaced by the rendering of `actionYaml`.
 */
export async function renderReadme(readme, actionYaml, options = {}, prefix = '') {
  const sections = await renderSections(actionYaml, options)
  let result = readme
  for (const section of SECTIONS) {
    const { from, to } = findSection(result, prefix + section)
    result = `${result.slice(0, from)}\n\n${sections[section]}\n\n${result.slice(to)}`
  }
  return result
}

/** Names of the README sections (with the prefix) that differ from what `actionYaml` generates. */
export async function driftedSections(readme, actionYaml, options = {}, prefix = '') {
  const expected = await renderReadme(readme, actionYaml, options, prefix)
  return SECTIONS.map(section => prefix + section).filter(section => {
    const current = findSection(readme, section)
    const wanted = findSection(expected, section)
    return readme.slice(current.from, current.to) !== expected.slice(wanted.from, wanted.to)
  })
}

/**
 * CLI entry point; returns the process exit code. `paths.action` alone stands for one action with
 * unprefixed sections (tests); `paths.actions` for any list; the default is ACTIONS.
 */
export async function main(argv = process.argv.slice(2), paths = {}) {
  const actions = paths.actions ?? (paths.action ? [{ path: paths.action, prefix: '' }] : ACTIONS)
  const readmePath = paths.readme ?? README_PATH
  const check = argv.includes('--check')
  const unknown = argv.filter(arg => arg !== '--check')
  if (unknown.length > 0) {
    console.error(`Unknown argument(s): ${unknown.join(' ')}. Usage: generate-docs.mjs [--check]`)
    return 2
  }
  const readme = readFileSync(readmePath, 'utf8')
  const options = await prettierOptions(readmePath)
  if (check) {
    let drifted = 0
    for (const { path, prefix } of actions) {
      const sections = await driftedSections(readme, readFileSync(path, 'utf8'), options, prefix)
      const name = prefix === '' ? 'action.yml' : `${prefix.replace(/-$/, '')}/action.yml`
      for (const section of sections) {
        console.error(
          `README.md section '${section}' is out of date with ${name}: run npm run docs`
        )
      }
      drifted += sections.length
    }
    return drifted === 0 ? 0 : 1
  }
  let updated = readme
  for (const { path, prefix } of actions) {
    updated = await renderReadme(updated, readFileSync(path, 'utf8'), options, prefix)
  }
  if (updated !== readme) writeFileSync(readmePath, updated)
  console.log(updated === readme ? 'README.md is up to date' : 'README.md updated')
  return 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    code => {
      process.exitCode = code
    },
    error => {
      console.error(error instanceof Error ? error.message : error)
      process.exitCode = 1
    }
  )
}
