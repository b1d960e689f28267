import { connect } from 'node:net'
import { classifyError } from '@rds-iam/core'
import { type DoctorStep, fail, pass } from '../doctor-step'
import { errorParts } from '../error-parts'
import { withNetworkTimeout } from '../network-timeout'

/** Something accepts connections at the host and port. */
export const tcpStep: DoctorStep = {
  name: 'tcp',
  async run(context) {
    const { host, port } = context.connection.auth
    const socket = connect({ host, port })
    try {
      await withNetworkTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve)
          socket.once('error', reject)
        }),
        `connecting to ${host}:${port}`,
      )
      return pass(`${host}:${port} accepts connections (from ${socket.remoteAddress})`)
    } catch (error) {
      return fail(
        `${host}:${port} is not reachable: ${errorParts(error).summary}`,
        classifyError(error, { host, port }).hint,
      )
    } finally {
      socket.destroy()
    }
  },
}
