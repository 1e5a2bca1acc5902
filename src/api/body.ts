// Request bodies as the original's Go decoder read them, minus its crashes: any content type is
// parsed as JSON, keys match the schema's field names case-insensitively, unknown keys and nulls
// are dropped; and beyond it, invalid UTF-8, non-object bodies and absurd nesting are refused.
import sjson from 'secure-json-parse';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonError, MichmanError } from '../domain/errors.js';
export { normalizeKeys } from '../domain/normalize.js';

const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function registerJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  // A body that does not parse is not an error yet: the original looked objects up before decoding,
  // so PUT /projects/missing with garbage is a 404. `input` raises the parse error when asked.
  const parse = (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    try {
      done(null, parseBody(body));
    } catch (err) {
      (req as BodyRequest).bodyError = err as MichmanError;
      done(null, undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parse);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parse);
}

export function parseBody(raw: Buffer): unknown {
  if (raw.length === 0) throw jsonError('request body is empty');
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw jsonError('request body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'remove', constructorAction: 'remove' });
  } catch (err) {
    throw jsonError((err as Error).message);
  }
  const problem = shapeProblem(value, MAX_DEPTH);
  if (problem) throw jsonError(problem);
  return value;
}

/**
 * Nesting beyond `max`, or a NUL character in any string or key (PostgreSQL cannot store one in a
 * text column, so it would surface as a database error instead of a 400).
 */
function shapeProblem(root: unknown, max: number): string | undefined {
  // Iterative, so a hostile body cannot overflow the stack.
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\0')) return 'strings must not contain NUL (\\u0000) characters';
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) return `body is nested deeper than ${max} levels`;
    for (const [k, child] of Object.entries(v)) {
      if (k.includes('\0')) return 'strings must not contain NUL (\\u0000) characters';
      stack.push([child, d + 1]);
    }
  }
  return undefined;
}

/** True when a path or query value holds a NUL character, which no database column accepts. */
export function hasNul(values: unknown): boolean {
  if (values === null || typeof values !== 'object') return false;
  for (const v of Object.values(values)) {
    if (typeof v === 'string' ? v.includes('\0') : Array.isArray(v) && v.some((x) => typeof x === 'string' && x.includes('\0'))) return true;
  }
  return false;
}

/** The validated body; throws the validation error only now, so handlers keep the original's order. */
type BodyRequest = FastifyRequest & { bodyError?: MichmanError; unknownFields?: MichmanError };

/** Keeps the unknown-fields error of a body (api/strict.ts) for `input` to raise. */
export function rememberUnknownFields(req: FastifyRequest, err: MichmanError | undefined): void {
  if (err) (req as BodyRequest).unknownFields = err;
}

export function input<T>(req: FastifyRequest): T {
  const parseError = (req as BodyRequest).bodyError;
  if (parseError) throw parseError;
  const unknownFields = (req as BodyRequest).unknownFields;
  if (unknownFields) throw unknownFields;
  const err = (req as FastifyRequest & { validationError?: Error & { validation?: AjvError[] } }).validationError;
  if (err) throw validationToJsonError(err);
  if (req.body === undefined || req.body === null) throw jsonError('request body is empty');
  return req.body as T;
}

interface AjvError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

export function validationToJsonError(err: Error & { validation?: AjvError[] }): MichmanError {
  const first = err.validation?.[0];
  if (!first) return jsonError(err.message);
  const path = (first.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  if (!path) return jsonError(first.keyword === 'type' ? 'body must be a JSON object' : `body ${first.message ?? 'is invalid'}`);
  return jsonError(`field '${path}' ${first.message ?? 'is invalid'}`);
}
