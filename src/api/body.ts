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
  const parse = (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    try {
      done(null, parseBody(body));
    } catch (err) {
      done(err as Error);
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
  if (depthExceeds(value, MAX_DEPTH)) throw jsonError(`body is nested deeper than ${MAX_DEPTH} levels`);
  return value;
}

function depthExceeds(root: unknown, max: number): boolean {
  // Iterative, so a hostile body cannot overflow the stack.
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) return true;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}

/** The validated body; throws the validation error only now, so handlers keep the original's order. */
export function input<T>(req: FastifyRequest): T {
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
