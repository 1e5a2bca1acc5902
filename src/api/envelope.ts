// The original's response envelope: {Type, Status, Title, Detail:{Message, Data}}.
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MichmanError } from '../domain/errors.js';

export const describe = (req: FastifyRequest): string => `Request: ${req.method} ${req.url}`;

export function success(req: FastifyRequest, status: 200 | 201, data: unknown) {
  return {
    Type: status === 201 ? 2 : 1,
    Status: status,
    Title: 'Request successful',
    Detail: { Message: describe(req), Data: data === undefined ? 'No data' : data },
  };
}

export function failure(err: MichmanError) {
  return { Type: err.errorClass, Status: err.status, Title: err.title, Detail: { Message: err.message, Data: 'No data' } };
}

export const ok = (req: FastifyRequest, reply: FastifyReply, data: unknown) => reply.code(200).send(success(req, 200, data));
/**
 * As `ok`, for Data already serialised: large objects that are served often from the catalog cache
 * are turned into JSON once (see jsonOf) instead of on every request.
 */
export function okJson(req: FastifyRequest, reply: FastifyReply, dataJson: string) {
  const body = `{"Type":1,"Status":200,"Title":"Request successful","Detail":{"Message":${JSON.stringify(describe(req))},"Data":${dataJson}}}`;
  return reply.code(200).type('application/json; charset=utf-8').send(body);
}

// Frozen cached objects never change, so their JSON can be kept next to them.
const jsonCache = new WeakMap<object, string>();
export function jsonOf(value: object): string {
  let json = jsonCache.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    if (Object.isFrozen(value)) jsonCache.set(value, json);
  }
  return json;
}

export const created = (req: FastifyRequest, reply: FastifyReply, data: unknown) =>
  reply.code(201).send(success(req, 201, data));
export const noContent = (reply: FastifyReply) => reply.code(204).send();

/** Response schema of an envelope whose Data is `data`; it serialises fast and documents the API. */
export function envelopeOf(data: TSchema, description: string) {
  return Type.Object(
    {
      Type: Type.Integer({ description: '1 = OK, 2 = Created' }),
      Status: Type.Integer(),
      Title: Type.String(),
      Detail: Type.Object({ Message: Type.String(), Data: data }),
    },
    { description },
  );
}

export const ErrorEnvelope = Type.Object(
  {
    Type: Type.Integer({ description: 'Error class (100 database, 200 JSON, 300 validation, 600 exists, 1000 not found, ...)' }),
    Status: Type.Integer(),
    Title: Type.String(),
    Detail: Type.Object({ Message: Type.String(), Data: Type.String() }),
  },
  { title: 'Error', description: 'Error' },
);
