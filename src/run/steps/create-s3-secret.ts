/** The S3 credential Secret the Restore reads, created from the s3-access-key / s3-secret-key inputs. */
import * as cmd from '../../kube/commands.js'
import { s3CredentialSecretManifest } from '../../kube/manifests.js'
import { defineStep, type PlanInput } from '../step.js'

const where = ({ settings: { s3 } }: PlanInput): string =>
  `${s3.credentialSecretNamespace}/${s3.credentialSecretName}`

export const createS3Secret = defineStep({
  id: 'create-s3-secret',
  title: input => `Create the S3 credential Secret ${where(input)}`,
  commands: input => ({
    apply: cmd.applyFromStdin(`Secret ${where(input)} with s3-access-key and s3-secret-key`, '')
  }),
  async run(ctx, c) {
    const { s3 } = ctx.settings
    const manifest = s3CredentialSecretManifest(
      s3.credentialSecretName,
      s3.credentialSecretNamespace,
      s3.accessKey,
      s3.secretKey
    )
    await ctx.runner.run({ ...c.apply, stdin: JSON.stringify(manifest) })
    return `created ${where(ctx)} from s3-access-key/s3-secret-key`
  }
})
