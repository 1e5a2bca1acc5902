// The service's own logs, as the original served them: GET /logs/launcher and GET /logs/http_server
// answer <logs_file_path>/launcher.log and http_server.log as plain text (Last-Modified,
// If-Modified-Since → 304, a single byte Range → 206). Admins only (the default policy gives
// /logs/* to admins; members get their clusters' logs under /logs/projects/...).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MichmanError, ErrorClass } from '../../domain/errors.js';
import { ErrorEnvelope } from '../envelope.js';

/** The original's words for a log file that cannot be read. */
const MISSING = 'error occurred while reading file info describing the named file';

const FILES = { launcher: 'launcher.log', http_server: 'http_server.log' } as const;

export function logRoutes(app: FastifyInstance, logsDir: string | undefined): void {
  for (const [name, file] of Object.entries(FILES)) {
    app.get(
      `/logs/${name}`,
      {
        schema: {
          tags: ['logs'],
          summary: name === 'launcher' ? "The launcher's (workers') log file" : "The HTTP server's log file",
          operationId: name === 'launcher' ? 'getLauncherLog' : 'getHttpServerLog',
          response: {
            200: { description: 'The log file, as text', content: { 'text/plain': { schema: Type.String() } } },
            206: { description: 'The requested byte range of the log file', content: { 'text/plain': { schema: Type.String() } } },
            304: { description: 'Not modified since If-Modified-Since', type: 'null' },
            400: ErrorEnvelope,
          },
        },
      },
      async (req, reply) => sendFile(req, reply, logsDir === undefined ? undefined : join(logsDir, file)),
    );
  }
}

async function sendFile(req: FastifyRequest, reply: FastifyReply, path: string | undefined) {
  const st = path === undefined ? undefined : await stat(path).catch(() => undefined);
  if (!path || !st?.isFile()) throw new MichmanError(ErrorClass.Validation, MISSING);
  const modified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
  reply.header('last-modified', modified.toUTCString()).header('accept-ranges', 'bytes').type('text/plain; charset=utf-8');
  const since = Date.parse(String(req.headers['if-modified-since'] ?? ''));
  if (!Number.isNaN(since) && modified.getTime() <= since) return reply.code(304).send();
  const range = byteRange(req.headers.range, st.size);
  if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${st.size}`).send();
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${st.size}`).header('content-length', range.end - range.start + 1);
    return reply.send(createReadStream(path, range));
  }
  reply.header('content-length', st.size);
  return reply.code(200).send(createReadStream(path));
}

/** A single `bytes=` range (first-last, first-, -suffix); several ranges are answered whole. */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
