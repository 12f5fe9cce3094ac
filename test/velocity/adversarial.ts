import fc from 'fast-check';

/**
 * Strings that break hand-written templates: JSON and JavaScript quoting, VTL syntax, characters SQS or URL encoding
 * treat specially, control characters, non-BMP characters, and (one case in ~30) strings of 200 KB and more.
 * Only well-formed UTF-16 (a request arrives as UTF-8, which cannot carry a lone surrogate).
 */
const SPECIALS = [
  '"',
  '\\',
  '$',
  '#',
  "'",
  '\n',
  '\r',
  '\t',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u2028',
  '\u2029',
  '\ufeff',
  '😀',
  '𝄞',
  '/',
  '</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: VTL's ${q} syntax, literally
  '${q}',
  '$context.requestId',
  "$input.json('$')",
  "#set($x = 'y')",
  '## comment',
  '#* block',
  '\\u0041',
  "\\'",
  '%',
  '%2B',
  '+',
  '&',
  '=',
  ' ',
] as const;

const piece = fc.oneof(fc.constantFrom(...SPECIALS), fc.string({ unit: 'binary', maxLength: 8 }));

/** A short adversarial string (any length from 0). */
export const shortAdversarialString = fc
  .array(piece, { maxLength: 12 })
  .map((pieces) => pieces.join(''))
  .filter((text) => text.isWellFormed());

/** A 200 KB+ string made of adversarial pieces. */
export const largeAdversarialString = shortAdversarialString.map((text) => {
  const unit = text === '' ? '"\\$#\'😀' : text;
  return unit.repeat(Math.ceil(200_000 / unit.length));
});

/** Mostly short adversarial strings, now and then one of 200 KB and more. */
export const adversarialString = fc.oneof(
  { weight: 30, arbitrary: shortAdversarialString },
  { weight: 1, arbitrary: largeAdversarialString },
);

const jsonLeaf = fc.oneof(
  adversarialString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);

/** A JSON object body with adversarial keys and values, one level of nesting. */
export const adversarialJsonObject = fc.dictionary(
  shortAdversarialString,
  fc.oneof(
    jsonLeaf,
    fc.array(jsonLeaf, { maxLength: 4 }),
    fc.dictionary(shortAdversarialString, jsonLeaf, { maxKeys: 3 }),
  ),
  { maxKeys: 5 },
);

/** An API Gateway request id (a UUID). */
export const requestId = fc.uuid();
