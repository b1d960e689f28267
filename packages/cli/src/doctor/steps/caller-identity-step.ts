import { type DoctorStep, pass, skip, warn } from '../doctor-step'
import { errorParts } from '../error-parts'

// Signing in never needs STS; a doctor run must not wait on it for long.
const STS_TIMEOUT_MS = 3_000

/** Who the credentials belong to, when STS answers: the ARN that the IAM policy must allow. */
export const callerIdentityStep: DoctorStep = {
  name: 'identity',
  async run(context) {
    const { auth, profile } = context.connection
    const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts')
    const client = new STSClient({ region: auth.region, profile, maxAttempts: 1 })
    try {
      const identity = await client.send(new GetCallerIdentityCommand({}), {
        abortSignal: AbortSignal.timeout(STS_TIMEOUT_MS),
      })
      return pass(`${identity.Arn} (account ${identity.Account})`)
    } catch (error) {
      const { summary } = errorParts(error)
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === undefined) {
        return skip(
          `STS did not answer within ${STS_TIMEOUT_MS / 1000} s (${summary}); signing in does not need it`,
        )
      }
      return warn(
        `STS refused the credentials: ${summary}`,
        "AWS does not accept these credentials (expected with the local emulator's test keys); refresh them or choose another --profile.",
      )
    } finally {
      client.destroy()
    }
  },
}
