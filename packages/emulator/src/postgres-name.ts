// PostgreSQL's NAMEDATALEN - 1: the most bytes of a user or database name a backend keeps.
export const MAX_NAME_BYTES = 63

/** A user or database name of a startup packet, as the PostgreSQL backend keeps it. */
export interface PostgresName {
  /**
   * At most 63 bytes: ProcessStartupPacket cuts a longer name at its 63rd byte, inside a character if one is
   * there (CREATE ROLE and the name type cut at a character boundary instead, with pg_mbcliplen).
   */
  readonly bytes: Buffer
  /** The bytes read as UTF-8; a character cut in two reads as U+FFFD. */
  readonly text: string
  /** False when the bytes are not UTF-8, as when a character was cut in two: no role of a UTF-8 cluster has it. */
  readonly wellFormed: boolean
}

/**
 * The name PostgreSQL signs a session in as, checks in pg_hba.conf and writes in its messages, from the value a
 * client sent: the session of a 70-byte user is the role of its first 63 bytes.
 */
export function startupName(sent: Buffer): PostgresName {
  const bytes = sent.subarray(0, MAX_NAME_BYTES)
  const text = bytes.toString('utf8')
  return { bytes, text, wellFormed: Buffer.from(text).equals(bytes) }
}
