/** The ordered steps of a procedure, as data: what a dry run shows and what main.ts executes. */
import type { ClusterFacts } from '../facts/cluster-facts.js'
import { describeCommand, type Command } from '../kube/command-runner.js'
import type { ProceedDecision } from '../decide/decide.js'
import * as cmd from '../kube/commands.js'
import { cleanupJobManifests, restoreManifest, s3CredentialSecretManifest } from '../kube/manifests.js'
import type { Settings } from '../inputs/settings.js'
import { backupChartRange } from '../decide/versions.js'

export type StepId =
  | 'lock'
  | 'create-s3-secret'
  | 'save-values'
  | 'save-secrets'
  | 'cleanup'
  | 'verify-cleanup'
  | 'install-backup-operator'
  | 'recreate-secrets'
  | 'restore'
  | 'helm-rollback'
  | 'helm-install'
  | 'verify'
  | 'forget-saved'

export interface PlannedStep {
  id: StepId
  title: string
  /** Redacted, printable commands this step will run. */
  commands: string[]
  mutating: boolean
}

export interface PlanInput {
  decision: ProceedDecision
  facts: ClusterFacts
  settings: Settings
  helmMajor: cmd.HelmMajor
  restoreName: string
  /** Where save-values writes; known before the run so the plan can name it. */
  valuesFile: string
  /** Where save-secrets writes the secrets cleanup would delete. */
  secretsFile: string
}

/** Secrets cleanup deletes and the reinstall needs back: the encryption config and Rancher's TLS. */
export function secretsToSave(settings: Settings): { namespace: string; name: string }[] {
  return [
    ...(settings.encryptionConfigSecretName
      ? [{ namespace: cmd.BACKUP_NAMESPACE, name: settings.encryptionConfigSecretName }]
      : []),
    ...['tls-rancher-ingress', 'tls-ca', 'tls-ca-additional'].map(name => ({
      namespace: settings.namespace,
      name
    }))
  ]
}

const show = (c: Command): string => describeCommand(c)
const json = (o: unknown): string => JSON.stringify(o)

export function restoreFor(input: PlanInput, prune: boolean): string {
  const { settings, decision, facts } = input
  return json(
    restoreManifest({
      name: input.restoreName,
      backupFilename: facts.backup.filename,
      s3: settings.s3,
      prune,
      encryptionConfigSecretName: settings.encryptionConfigSecretName,
      labels: restoreLabels(decision)
    })
  )
}

/**
 * After cleanup there is nothing to prune and pruning would fight the freshly installed operator:
 * the migration procedure the docs prescribe restores with prune: false.
 */
export function restorePrune(decision: ProceedDecision, settings: Settings): boolean {
  return decision.procedure === 'cleanup-and-reinstall' ? false : settings.prune
}

export function restoreLabels(decision: ProceedDecision): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'rancher-rollback',
    'rancher-rollback/from-version': decision.from.replace(/[^\w.-]/g, '-'),
    'rancher-rollback/to-version': decision.to.replace(/[^\w.-]/g, '-')
  }
}

export function buildPlan(input: PlanInput): PlannedStep[] {
  const { decision, facts, settings, helmMajor } = input
  const steps: PlannedStep[] = []
  const add = (id: StepId, title: string, commands: Command[], mutating = true) =>
    steps.push({ id, title, commands: commands.map(show), mutating })
  const waitBudget = settings.restoreTimeoutMs

  add('lock', `Take the cluster lock (Lease ${cmd.LOCK_NAMESPACE}/${cmd.LOCK_NAME})`, [
    cmd.getLease(),
    cmd.createFromStdin('lease')
  ])

  const secret = facts.s3CredentialSecret
  if (settings.s3.credentialSecretName && !secret.exists && settings.s3.accessKey) {
    add('create-s3-secret', `Create the S3 credential Secret ${secret.namespace}/${secret.name}`, [
      cmd.applyFromStdin(
        json(s3CredentialSecretManifest(secret.name, secret.namespace, '***', '***'))
      )
    ])
  }

  const restoreStep = (prune: boolean) =>
    add(
      'restore',
      `Restore ${facts.backup.filename || '(backup)'} with Restore ${input.restoreName} (prune: ${prune}) and wait for Ready=True "Completed"`,
      [
        cmd.createFromStdin(restoreFor(input, prune)),
        cmd.waitRestoreReady(input.restoreName, waitBudget),
        cmd.getRestore(input.restoreName)
      ]
    )

  const verify = () =>
    add(
      'verify',
      `Verify: deployment ${settings.releaseName} runs rancher v${decision.to}, rolled out, and Helm shows ${decision.to} deployed`,
      [
        cmd.rolloutStatus(settings.namespace, settings.releaseName, settings.timeoutMs),
        cmd.getDeployment(settings.namespace, settings.releaseName),
        cmd.helmHistory(settings.releaseName, settings.namespace)
      ],
      false
    )

  switch (decision.procedure) {
    case 'restore-only':
      restoreStep(restorePrune(decision, settings))
      verify()
      break
    case 'in-place':
      restoreStep(restorePrune(decision, settings))
      add(
        'helm-rollback',
        `helm rollback ${settings.releaseName} to revision ${decision.rollbackRevision} (v${decision.to})`,
        [
          cmd.helmRollback(
            helmMajor,
            settings.releaseName,
            settings.namespace,
            decision.rollbackRevision ?? 0,
            settings.timeoutMs
          )
        ]
      )
      verify()
      break
    case 'cleanup-and-reinstall': {
      const range = settings.backupChartVersion || backupChartRange(decision.to)
      const saved = `${cmd.SAVED_NAMESPACE}/${cmd.SAVED_NAME}`
      const toSave = secretsToSave(settings)
      if (facts.interrupted) {
        add(
          'save-values',
          `Take the values the interrupted run saved in ${saved}`,
          [cmd.readSaved()],
          false
        )
        add(
          'save-secrets',
          `Take the Secrets the interrupted run saved in ${saved}`,
          [cmd.readSaved()],
          false
        )
      } else {
        add(
          'save-values',
          `Save the Helm values of ${settings.releaseName} to ${input.valuesFile} (they must set hostname)`,
          [cmd.helmGetValues(settings.releaseName, settings.namespace)],
          false
        )
        add(
          'save-secrets',
          `Save the Secrets cleanup deletes (${toSave.map(s => `${s.namespace}/${s.name}`).join(', ')}) to ${input.secretsFile}, and keep values and Secrets in ${saved} for a re-run`,
          [
            ...toSave.map(s => cmd.readSecret(s.namespace, s.name)),
            cmd.applyFromStdin('(saved values and Secrets)')
          ]
        )
      }
      add(
        'cleanup',
        `Run rancher-cleanup (${settings.cleanupImage}): deletes Rancher from the cluster`,
        [
          cmd.deleteObject('job', 'cleanup-job', cmd.CLEANUP_NAMESPACE),
          cmd.applyFromStdin(json(cleanupJobManifests(settings.cleanupImage, 'cleanup'))),
          cmd.waitJobComplete(cmd.CLEANUP_NAMESPACE, 'cleanup-job', settings.timeoutMs),
          cmd.jobLogs(cmd.CLEANUP_NAMESPACE, 'cleanup-job')
        ]
      )
      add('verify-cleanup', 'Run rancher-cleanup verify and judge its output (not its exit code)', [
        cmd.deleteObject('job', 'verify-job', cmd.CLEANUP_NAMESPACE),
        cmd.applyFromStdin(json(cleanupJobManifests(settings.cleanupImage, 'verify'))),
        cmd.waitJobComplete(cmd.CLEANUP_NAMESPACE, 'verify-job', settings.timeoutMs),
        cmd.jobLogs(cmd.CLEANUP_NAMESPACE, 'verify-job'),
        cmd.listNamespaceNames()
      ])
      add(
        'install-backup-operator',
        `Install rancher-backup-crd and rancher-backup (${range}) from ${settings.backupChartRepo}`,
        [
          cmd.helmShowChart(settings.backupChartRepo, 'rancher-backup', range),
          ...['rancher-backup-crd', 'rancher-backup'].map(chart =>
            cmd.helmUpgradeInstall(
              helmMajor,
              {
                release: chart,
                namespace: cmd.BACKUP_NAMESPACE,
                chart,
                repo: settings.backupChartRepo,
                version: '<resolved>'
              },
              settings.timeoutMs
            )
          )
        ]
      )
      add('recreate-secrets', 'Recreate the saved Secrets', [cmd.applyFromStdin('(saved secrets)')])
      restoreStep(restorePrune(decision, settings))
      add(
        'helm-install',
        `Install rancher ${decision.to} from ${settings.rancherChartRepo} with the saved values`,
        [
          cmd.helmUpgradeInstall(
            helmMajor,
            {
              release: settings.releaseName,
              namespace: settings.namespace,
              chart: 'rancher',
              repo: settings.rancherChartRepo,
              version: decision.to,
              valuesFile: input.valuesFile,
              devel: decision.to.includes('-')
            },
            settings.timeoutMs
          )
        ]
      )
      verify()
      add('forget-saved', `Delete ${saved}: the reinstall is verified`, [
        cmd.deleteObject('secret', cmd.SAVED_NAME, cmd.SAVED_NAMESPACE)
      ])
      break
    }
  }
  return steps
}
