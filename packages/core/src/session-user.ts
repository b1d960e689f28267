import { configError } from './errors'

// PostgreSQL's NAMEDATALEN - 1: a backend keeps the first 63 bytes of the user name a client sends.
const MAX_USER_BYTES = 63

/**
 * The role a session with startup user `user` becomes, so the user a token must name: PostgreSQL (RDS's too)
 * cuts a longer name to its first 63 bytes before it authenticates, so a token for the whole name is always
 * refused. A cut that splits a character leaves bytes no role's name has (CREATE ROLE cuts between characters),
 * which is refused here rather than at every connect.
 */
export function sessionUserOf(user: string): string {
  const sent = Buffer.from(user)
  if (sent.length <= MAX_USER_BYTES) return user
  const kept = sent.subarray(0, MAX_USER_BYTES)
  const role = kept.toString('utf8')
  if (Buffer.from(role).equals(kept)) return role
  throw configError(
    `\`user\` is ${sent.length} bytes; PostgreSQL keeps only its first ${MAX_USER_BYTES}, which cut a character in two, so no role can match.`,
    `Set \`user\` to the role's name as PostgreSQL stores it (SELECT rolname FROM pg_roles), ${MAX_USER_BYTES} bytes at most.`,
  )
}
