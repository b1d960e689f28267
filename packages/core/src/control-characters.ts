/**
 * The first control character (C0, U+0000 to U+001F, or DEL) in `text`, written as U+XXXX, or undefined. A NUL
 * ends a C string (the host the resolver sees is not the one signed for), CR/LF split the lines of a log or a
 * header, and all of them come from a value read with its line ending or pasted with a stray byte.
 * @example firstControlCharacter('db.example.com\n') // 'U+000A'
 */
export function firstControlCharacter(text: string): string | undefined {
  const match = /[\u0000-\u001f\u007f]/.exec(text)
  return match ? `U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : undefined
}
