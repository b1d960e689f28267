import { inspect } from 'node:util'

/** Everything a user could see during a test: errors, events, log lines. */
export interface SecretWatch {
  recordText(text: string): void
  recordError(error: unknown): void
  recordValue(value: unknown): void
  /** The recorded outputs that contain a token or one of the secrets. */
  leaks(secrets: string[]): string[]
  size(): number
}

// Every IAM token is a presigned query string carrying these; none of them may ever be shown.
const TOKEN_MARKERS = ['X-Amz-Signature=', 'X-Amz-Security-Token=', 'Action=connect']

export function createSecretWatch(): SecretWatch {
  const outputs: string[] = []
  return {
    recordText: (text) => outputs.push(text),
    recordError: (error) => {
      outputs.push(String(error), inspect(error, { depth: 12 }), jsonOf(error))
      if (error instanceof Error) outputs.push(error.stack ?? '')
    },
    recordValue: (value) => outputs.push(inspect(value, { depth: 12 }), jsonOf(value)),
    leaks: (secrets) =>
      outputs.filter((output) => [...TOKEN_MARKERS, ...secrets].some((secret) => output.includes(secret))),
    size: () => outputs.length,
  }
}

// Driver objects are often circular; what JSON.stringify cannot print, it cannot leak either.
function jsonOf(value: unknown): string {
  try {
    return JSON.stringify(value) ?? ''
  } catch {
    return ''
  }
}
