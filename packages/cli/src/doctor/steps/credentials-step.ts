import { describeCredentialSource } from '../credential-source'
import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'
import { readTokenFacts } from '../token-facts'

/** AWS credentials resolve and sign a token: everything short of asking the database. */
export const credentialsStep: DoctorStep = {
  name: 'credentials',
  async run(context) {
    const source = describeCredentialSource(context.connection.profile)
    try {
      const { accessKey, temporary } = readTokenFacts(await context.token())
      return pass(`${source}: access key ${accessKey}${temporary ? ', temporary' : ''}; a token was signed`)
    } catch (error) {
      const { summary, hint } = errorParts(error)
      return fail(`looked in ${source}: ${summary}`, hint ?? 'Check the AWS credentials.')
    }
  },
}
