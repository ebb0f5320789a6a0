/**
 * Which backup-restore operator release behaves how: the version gates of the simulated operator,
 * in one place. Each gate names the first release tags of rancher/backup-restore-operator that
 * have the behaviour, and the file it lives in, as `git show <tag>:<path>` over the release tags
 * v1.0.0 to v11.0.1 (or `git tag --contains` of the commit that brought it) shows. Release
 * candidates are not modelled: a tag is read as its `v<major>.<minor>.<patch>` part.
 *
 * Backports make a gate per major line: `sinceEach('7.0.3', '8.1.0')` is true from v7.0.3 on the
 * v7 line, from v8.1.0 on the v8 line, and on every later major line; false on a major line that
 * is not listed and is older than the last one listed.
 */

export type OperatorVersion = readonly [number, number, number]

function parse(v: string): OperatorVersion {
  const [a = 0, b = 0, c = 0] = v.split('.').map(Number)
  return [a, b, c]
}

function atLeast(v: OperatorVersion, first: OperatorVersion): boolean {
  for (let i = 0; i < 3; i++) {
    if ((v[i] ?? 0) !== (first[i] ?? 0)) return (v[i] ?? 0) > (first[i] ?? 0)
  }
  return true
}

/** True from the first listed release of v's major line on, and on every later major line. */
export function sinceEach(v: OperatorVersion, ...firsts: string[]): boolean {
  const parsed = firsts.map(parse)
  const last = parsed[parsed.length - 1]
  if (last && v[0] > last[0]) return true
  const sameLine = parsed.find(f => f[0] === v[0])
  return sameLine !== undefined && atLeast(v, sameLine)
}

export interface OperatorFeatures {
  /**
   * Commit 8d0b5f5 "Add/improve logging" (v2.1.2): main.go logs `Starting backup-restore
   * controller version %s (%s)` after the formatter is set (before: a plain `Starting controller`
   * ahead of it), adds the missing space in "…storageLocation on each Backup CR", and
   * restoreResource logs `restoreResource: Namespace %v for name %v of type %v`.
   */
  improvedLogging: boolean
  /**
   * `Starting backup-restore-operator version %s (%s) [built at %s]` instead of the controller
   * banner: cmd/operator/main.go from v7.0.2 and v8.0.0.
   */
  operatorBanner: boolean
  /**
   * Commit 2922ce2 "Provide better errors around s3" (v2.1.2), pkg/objectstore/s3minio.go:
   * `failed to check if s3 bucket [%s] exists, error: %v`, `s3 bucket [%s] not found`,
   * `failed to download s3 backup: no backup files found with prefix [%s] in bucket [%s]` and the
   * download lines naming the bucket. Before: `failed to check s3 bucket:%s, err:%v`,
   * `bucket %s is not found`, `failed to download s3 backup: no backups found`.
   */
  s3ErrorsNameBucket: boolean
  /**
   * SetS3Service (pkg/objectstore/s3minio.go) sets up the TLS transport for every endpoint and
   * honours `insecureTLSSkipVerify` without an endpoint CA, and logs `insecure-tls-skip-verify`,
   * from v2.1.4 (setTransport); before, only when an endpoint CA is given (setTransportCA).
   */
  insecureSkipVerifyWithoutCA: boolean
  /**
   * SetS3Service logs `s3-accessKey` through redactAccessKeyID (first 5 characters of a key of 20
   * or more, then `*`; else 14 `*`) from v6.0.3, v7.0.5, v8.1.2 and v9.0.1; before, as it is.
   */
  redactAccessKey: boolean
  /**
   * pkg/controllers/restore/controller.go restoreResource wraps a failed Create as
   * `restoreResource: err creating resource %v` from v2.1.2 (before: the API error as it is).
   */
  createErrorPrefix: boolean
  /**
   * pkg/controllers/restore/pause.go getObjFromControllerRef, when the controllerRef's object
   * cannot be read: v1.0.0-v2.1.2 Warn `Error getting object for controllerRef %v, skipping it`;
   * v2.1.3 to v4.0.2 (all of v3) Info `Error getting object for controllerRef %v/%v/%v: %v`;
   * from v4.0.3 Debug `Unable to retrieve object …`, which the chart's default log level hides.
   */
  missingControllerRefLog: 'warn' | 'info' | 'hidden'
  /**
   * "backup location not specified on the restore CR, …" in lower case from v7.0.0
   * (pkg/controllers/restore/controller.go; "Backup location …" before).
   */
  lowercaseNoLocationError: boolean
  /**
   * The restore controller logs a failed Get of the encryption config Secret as `Error fetching
   * encryption config secret: %v` from v7.0.0 (pkg/controllers/restore/controller.go, with
   * pkg/util/encryptionconfig); before, every encryption config error as `Error processing
   * encryption config: %v`.
   */
  encryptionSecretFetchLog: boolean
  /**
   * pkg/controllers/restore/download.go loadDataFromFile decrypts a file only when it holds a JSON
   * string (`readData[0] == 34`) from v7.0.0; before, every file of a GroupResource the encryption
   * config names (v6: unless its transformer is the default identity one, which is what a
   * GroupResource the config does not name gets), so a plain file then fails to unmarshal.
   */
  decryptOnlyJsonStrings: boolean
  /**
   * restoreResource leaves out Secrets of type fleet.cattle.io/cluster-registration-values
   * ("TEMPORARY HOTFIX", commit 4540219) from v3.1.0; never on the v2 line.
   */
  skipFleetRegistrationSecrets: boolean
  /**
   * customize() in pkg/controllers/restore/controller.go: from v1.2.1 a ServiceAccount loses
   * `secrets` and a fleet.cattle.io/v1alpha1 Cluster gets `spec.redeployAgentGeneration + 1`.
   */
  customizeFleetCluster: boolean
  /** customize(): provisioning.cattle.io/v1 Cluster `spec.redeploySystemAgentGeneration + 1`, v2.0.0 on. */
  customizeProvisioningCluster: boolean
  /**
   * customize(): management.cattle.io/v3 Cluster annotated `io.cattle.agent.force.deploy: "true"`,
   * from v3.1.1 (commit 8c9fa13; never on the v2 line).
   */
  customizeManagementCluster: boolean
  /**
   * pkg/controllers/restore/download.go shouldSkipBuiltin: GlobalRoles and RoleTemplates with
   * `builtin: true` are left out of the restore (still counted as in the backup for prune), from
   * v7.0.2 (commit 9bbe9f4, "backports built-in fixes (#794)") and v8.0.0.
   */
  skipBuiltinRoles: boolean
  /**
   * generateDependencyGraph drops ownerReferences to a GlobalRole or RoleTemplate (`Resource %v of
   * type %v has %v as owner. The OwnerRefs will be dropped.`) from v7.0.3, v8.1.0 and v9.0.0.
   */
  dropRoleOwnerRefs: boolean
  /**
   * pkg/controllers/restore/crd.go mergeVersionsFromLiveCRD (PR #911, backport #914 = a50d8ca):
   * v9.0.2 on the v9 line and every v10 and later; not on v8 or older.
   */
  mergeLiveCrdVersions: boolean
  /**
   * isSettingsWebhookError (pkg/controllers/restore/controller.go, PR #991): a
   * management.cattle.io Setting whose Create or Update an admission webhook
   * "rancher.cattle.io.settings" denies is skipped with a warning, from v11.0.0 only.
   */
  skipSettingsWebhookDenial: boolean
}

export function featuresOf(v: OperatorVersion): OperatorFeatures {
  return {
    improvedLogging: sinceEach(v, '2.1.2'),
    operatorBanner: sinceEach(v, '7.0.2', '8.0.0'),
    s3ErrorsNameBucket: sinceEach(v, '2.1.2'),
    insecureSkipVerifyWithoutCA: sinceEach(v, '2.1.4'),
    redactAccessKey: sinceEach(v, '6.0.3', '7.0.5', '8.1.2', '9.0.1'),
    createErrorPrefix: sinceEach(v, '2.1.2'),
    missingControllerRefLog: sinceEach(v, '4.0.3')
      ? 'hidden'
      : sinceEach(v, '2.1.3')
        ? 'info'
        : 'warn',
    lowercaseNoLocationError: sinceEach(v, '7.0.0'),
    encryptionSecretFetchLog: sinceEach(v, '7.0.0'),
    decryptOnlyJsonStrings: sinceEach(v, '7.0.0'),
    skipFleetRegistrationSecrets: sinceEach(v, '3.1.0'),
    customizeFleetCluster: sinceEach(v, '1.2.1'),
    customizeProvisioningCluster: sinceEach(v, '2.0.0'),
    customizeManagementCluster: sinceEach(v, '3.1.1'),
    skipBuiltinRoles: sinceEach(v, '7.0.2', '8.0.0'),
    dropRoleOwnerRefs: sinceEach(v, '7.0.3', '8.1.0'),
    mergeLiveCrdVersions: sinceEach(v, '9.0.2'),
    skipSettingsWebhookDenial: sinceEach(v, '11.0.0')
  }
}
