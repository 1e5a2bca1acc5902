// Small helpers shared by the route modules: schemas for a route, pagination query, lookups that 404.
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { envelopeOf, ErrorEnvelope } from './envelope.js';
import { MichmanError, ErrorClass, notFound } from '../domain/errors.js';
import { MAX_PAGE, type Page, type PageRequest } from '../store/paging.js';

const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope, 500: ErrorEnvelope };

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.String({ description: `Page size, 1..${MAX_PAGE}; absent = every item.` })),
  after: Type.Optional(Type.String({ description: 'Cursor from the X-Next-Cursor header of the previous page.' })),
});

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'A key of your choice: a repeat of the same request under it replays the first 2xx answer (24 h) instead of acting again; 409 while the first is still running.',
    }),
  ),
});

interface RouteDoc {
  tag: string;
  summary: string;
  /** OpenAPI operationId: what generated clients name the call. */
  operationId?: string;
  /** The route honours the Idempotency-Key header (documented as a header parameter). */
  idempotencyKey?: boolean;
  body?: TSchema;
  params?: TSchema;
  querystring?: TSchema;
  /** Data of the success envelope; undefined for 204. */
  data?: TSchema;
  status?: 200 | 201 | 204;
}

export function route(d: RouteDoc) {
  const status = d.status ?? 200;
  return {
    // Validation errors are raised by the handler (`input`), after the lookups the original did first.
    attachValidation: true,
    schema: {
      tags: [d.tag],
      summary: d.summary,
      ...(d.operationId ? { operationId: d.operationId } : {}),
      ...(d.idempotencyKey ? { headers: IdempotencyHeaders } : {}),
      ...(d.body ? { body: d.body } : {}),
      ...(d.params ? { params: d.params } : {}),
      ...(d.querystring ? { querystring: d.querystring } : {}),
      response: {
        [status]: status === 204 ? Type.Null({ description: 'No content' }) : envelopeOf(d.data ?? Type.Any(), d.summary),
        ...errors,
      },
    },
  };
}

export const param = (...names: string[]) =>
  Type.Object(Object.fromEntries(names.map((n) => [n, Type.String({ maxLength: 255 })])));

export function pageRequest(req: FastifyRequest): PageRequest {
  const q = req.query as { limit?: string; after?: string };
  const out: PageRequest = {};
  if (q.limit !== undefined) {
    const n = /^\d{1,7}$/.test(q.limit) ? Number(q.limit) : NaN;
    if (!(n >= 1 && n <= MAX_PAGE)) {
      throw new MichmanError(ErrorClass.InputIncorrect, `bad limit param: must be an integer from 1 to ${MAX_PAGE}`);
    }
    out.limit = n;
  }
  if (q.after !== undefined) out.after = q.after;
  return out;
}

/** Sends the page's cursor in headers so Data stays the plain array the original returned. */
export function pageHeaders<T>(req: FastifyRequest, reply: FastifyReply, page: Page<T>): T[] {
  if (page.next !== undefined) {
    const url = new URL(req.url, 'http://x');
    url.searchParams.set('after', page.next);
    reply.header('X-Next-Cursor', page.next);
    reply.header('Link', `<${url.pathname}${url.search}>; rel="next"`);
  }
  return page.items;
}

export async function found<T>(p: Promise<T | undefined>, object: string, idOrName: string): Promise<T> {
  const v = await p;
  if (v === undefined) throw notFound(object, idOrName);
  return v;
}
