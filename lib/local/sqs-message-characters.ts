/**
 * The characters SQS accepts in a message body, and what the local ingress does about the others.
 *
 * SQS accepts only `#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF` and refuses the whole
 * message otherwise (`InvalidMessageContents`):
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html (MessageBody).
 */

/** A code point SQS refuses in a message body (the complement of the allowed ranges; `u` so pairs are one). */
const SQS_REFUSED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * The refused characters JSON.stringify leaves as they are (it escapes control characters and lone surrogates), so
 * the ones that can make SQS refuse an envelope: where to look for them in the request's data.
 */
const REFUSED_AFTER_JSON_ENCODING = /[\uFFFE\uFFFF]/;

/** The allowed ranges, as SQS's documentation writes them, for error messages. */
export const SQS_ALLOWED_CHARACTERS = '#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF';

/** Where a value holds a character SQS refuses: the field's path, the offending code point and its index. */
export interface RefusedCharacter {
  /** Dotted path of the string (a key or a value) that holds it; `(root)` for a top-level string. */
  readonly path: string;
  /** `U+FFFF` style. */
  readonly codePoint: string;
  /** UTF-16 index of the character within that string. */
  readonly index: number;
}

/**
 * The first character in `body` that SQS would refuse, located in `data` (the request's parsed JSON) so the answer
 * can name the field. JSON.stringify escapes control characters and lone surrogates, so what reaches `body` raw and
 * refused is U+FFFE or U+FFFF inside a string.
 */
export function findRefusedCharacter(body: string, data: unknown): RefusedCharacter | undefined {
  if (!SQS_REFUSED_CHARACTER.test(body)) return undefined;
  return locate(data, '') ?? { path: '(envelope)', ...describeFirst(body, SQS_REFUSED_CHARACTER) };
}

/** The problem as a 400 message: field, code point, position and the allowed ranges. */
export function refusedCharacterMessage(refused: RefusedCharacter): string {
  return `${refused.path}: contains ${refused.codePoint} at index ${refused.index}, a character SQS does not accept in a message (allowed: ${SQS_ALLOWED_CHARACTERS})`;
}

/**
 * Writes characters above U+FFFF as JSON `\uXXXX\uXXXX` escapes. The JSON means the same to every reader; the
 * embedded SQS engine (fauxqs 2.4) checks bodies one UTF-16 unit at a time and would refuse these characters, which
 * SQS accepts. `body` must be JSON text, where such characters can only occur inside strings.
 */
export function escapeSupplementaryCharacters(body: string): string {
  return body.replace(/[\u{10000}-\u{10FFFF}]/gu, (character) => {
    const high = character.charCodeAt(0).toString(16);
    const low = character.charCodeAt(1).toString(16);
    return `\\u${high}\\u${low}`;
  });
}

function locate(value: unknown, path: string): RefusedCharacter | undefined {
  if (typeof value === 'string') {
    return REFUSED_AFTER_JSON_ENCODING.test(value) ? { path: path || '(root)', ...describeFirst(value) } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const entries = Array.isArray(value)
    ? value.map((item, index) => [String(index), item] as const)
    : Object.entries(value);
  for (const [key, item] of entries) {
    const itemPath = path ? `${path}.${key}` : key;
    if (REFUSED_AFTER_JSON_ENCODING.test(key)) return { path: `${itemPath} (the field name)`, ...describeFirst(key) };
    const found = locate(item, itemPath);
    if (found) return found;
  }
  return undefined;
}

function describeFirst(
  text: string,
  pattern: RegExp = REFUSED_AFTER_JSON_ENCODING,
): { codePoint: string; index: number } {
  const match = pattern.exec(text);
  const code = match?.[0].codePointAt(0) ?? 0;
  return { codePoint: `U+${code.toString(16).toUpperCase().padStart(4, '0')}`, index: match?.index ?? 0 };
}
