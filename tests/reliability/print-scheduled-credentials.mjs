// A real `credential_process` for R2: prints, in the format the AWS SDK reads, the newest generation of the
// credential schedule (a JSON file written by the test) issued by now.
import { readFileSync } from 'node:fs'

const generations = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const now = Date.now()
const current = generations.findLast((generation) => Date.parse(generation.issuedAt) <= now)
process.stdout.write(
  JSON.stringify({
    Version: 1,
    AccessKeyId: current.accessKeyId,
    SecretAccessKey: current.secretAccessKey,
    SessionToken: current.sessionToken,
    Expiration: current.expiration,
  }),
)
