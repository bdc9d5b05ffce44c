import type { IncomingMessage } from 'node:http';

/**
 * What `express.json`'s `verify` hook throws for a body over budget, mapped in to-app-error.ts:
 * too many keys is a 413 `request.too_complex`; too deep, the 400 the validation pipe gives.
 */
export class JsonBudgetError extends Error {
  readonly type = 'entity.too.complex';
  readonly expose = true;
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

export interface JsonBudget {
  /** Object keys in the whole body, at every depth. */
  maxKeys: number;
  /** Nesting of objects and arrays. */
  maxDepth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * `verify` for `express.json`: one pass over the raw bytes, before `JSON.parse` and long before
 * validation, counting object keys (a `:` outside strings) and nesting; it stops at the first
 * byte over budget. Validating a body costs more than linear time in its keys (an object of 100k
 * keys took 24 s), so a small body can stall the event loop; this check is linear and cheap
 * (UTF-8 continuation bytes are never ASCII, so multi-byte characters need no decoding). A body
 * that is not valid JSON is left to the parser.
 */
export function jsonBudgetVerifier(
  budget: JsonBudget,
): (req: IncomingMessage, res: unknown, buf: Buffer) => void {
  return (_req, _res, buf) => {
    let keys = 0;
    let depth = 0;
    let inString = false;
    for (let i = 0; i < buf.length; i++) {
      const byte = buf[i];
      if (inString) {
        if (byte === BACKSLASH) i++;
        else if (byte === QUOTE) inString = false;
      } else if (byte === QUOTE) {
        inString = true;
      } else if (byte === COLON) {
        if (++keys > budget.maxKeys) {
          throw new JsonBudgetError(
            413,
            `The JSON body has more than ${budget.maxKeys} keys in all (OH_MAX_JSON_KEYS).`,
          );
        }
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (++depth > budget.maxDepth) {
          throw new JsonBudgetError(
            400,
            `The body is nested more than ${budget.maxDepth} levels deep.`,
          );
        }
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
      }
    }
  };
}
