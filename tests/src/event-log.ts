import type { IamEvent } from '@rds-iam/core'
import type { SecretWatch } from './secret-watch'

/** The events of one test's pool, each also handed to the secret watch. */
export interface EventLog {
  onEvent(event: IamEvent): void
  count(type: IamEvent['type']): number
  retries(): Extract<IamEvent, { type: 'auth-retry' }>[]
}

export function createEventLog(watch: SecretWatch): EventLog {
  const events: IamEvent[] = []
  return {
    onEvent: (event) => {
      events.push(event)
      watch.recordValue(event)
    },
    count: (type) => events.filter((event) => event.type === type).length,
    retries: () => events.filter((event) => event.type === 'auth-retry'),
  }
}
