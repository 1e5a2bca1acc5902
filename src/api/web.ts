// The web console's files (web/, built by `npm run build` into dist/web) served at /. The console
// is a client of this API like curl; its pages live under /#/..., so only /, /index.html,
// /favicon.svg and /assets/* are served here and no API path is shadowed. Files are read once at
// start-up (a few tens of kB). Hashed assets never change under their name: cached for a year;
// index.html is revalidated on every load (ETag), so a new build is picked up at once.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PACKAGE_ROOT } from '../paths.js';

export const DEFAULT_WEB_DIR = join(PACKAGE_ROOT, 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

// Everything the page loads comes from this server: a browser refuses anything else, so a
// build that slipped in a CDN link fails loudly instead of leaking users' requests.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface WebFile {
  body: Buffer;
  type: string;
  etag: string;
  immutable: boolean;
}


function load(dir: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const abs = join(dir, rel);
      if (statSync(abs).isDirectory()) walk(rel);
      else {
        const body = readFileSync(abs);
        files.set(`/${rel}`, {
          body,
          type: TYPES[extname(name)] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
          immutable: rel.startsWith('assets/'),
        });
      }
    }
  };
  walk('');
  return files;
}

export function webRoutes(app: FastifyInstance, dir: string): void {
  const files = existsSync(join(dir, 'index.html')) ? load(dir) : undefined;
  const send = (req: FastifyRequest, reply: FastifyReply, path: string) => {
    const f = files?.get(path);
    if (!files) {
      return reply.code(404).type('text/plain; charset=utf-8').send('The web console is not built: run `npm run build`.\nThe API is here all the same: see /api.\n');
    }
    if (!f) return reply.callNotFound();
    reply.header('content-type', f.type).header('etag', f.etag).header('x-content-type-options', 'nosniff');
    reply.header('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (f.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'same-origin');
    if (req.headers['if-none-match'] === f.etag) return reply.code(304).send();
    return reply.code(200).send(req.method === 'HEAD' ? undefined : f.body);
  };
  const opts = { schema: { hide: true } };
  app.get('/', opts, (req, reply) => send(req, reply, '/index.html'));
  app.get('/index.html', opts, (req, reply) => send(req, reply, '/index.html'));
  app.get('/favicon.svg', opts, (req, reply) => send(req, reply, '/favicon.svg'));
  app.get('/assets/*', opts, (req, reply) => send(req, reply, req.url.split('?')[0]!));
}
