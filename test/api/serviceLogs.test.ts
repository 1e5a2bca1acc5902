// The original's service log routes, GET /logs/launcher and GET /logs/http_server (the files
// <logs_file_path>/launcher.log and http_server.log, served as text), and /api/swagger.yaml.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { backends, type OpenedStore } from '../helpers/stores.js';

const sqlite = backends().find((b) => b.name === 'sqlite')!;

describe('service logs and swagger.yaml', () => {
  let opened: OpenedStore;
  let app: FastifyInstance;
  let bare: FastifyInstance;
  const dir = mkdtempSync(join(tmpdir(), 'michman-logs-'));
  beforeAll(async () => {
    opened = await sqlite.open();
    writeFileSync(join(dir, 'launcher.log'), 'launcher line 1\nlauncher line 2\n');
    writeFileSync(join(dir, 'http_server.log'), 'http line\n');
    const old = new Date('2026-01-02T03:04:05Z');
    utimesSync(join(dir, 'http_server.log'), old, old);
    app = await buildServer({ store: opened.store, logger: false, logsDir: dir });
    bare = await buildServer({ store: opened.store, logger: false, logsDir: join(dir, 'nowhere') });
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await opened?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /logs/launcher and /logs/http_server answer the files as text', async () => {
    const l = await app.inject({ method: 'GET', url: '/logs/launcher' });
    expect(l.statusCode).toBe(200);
    expect(l.headers['content-type']).toMatch(/^text\/plain/);
    expect(l.body).toBe('launcher line 1\nlauncher line 2\n');
    const h = await app.inject({ method: 'GET', url: '/logs/http_server' });
    expect(h.statusCode).toBe(200);
    expect(h.body).toBe('http line\n');
    expect(h.headers['last-modified']).toBe('Fri, 02 Jan 2026 03:04:05 GMT');
  });

  it('honours If-Modified-Since (304) and a byte Range (206)', async () => {
    const nm = await app.inject({ method: 'GET', url: '/logs/http_server', headers: { 'if-modified-since': 'Sat, 03 Jan 2026 00:00:00 GMT' } });
    expect(nm.statusCode).toBe(304);
    const part = await app.inject({ method: 'GET', url: '/logs/launcher', headers: { range: 'bytes=0-7' } });
    expect(part.statusCode).toBe(206);
    expect(part.body).toBe('launcher');
    expect(part.headers['content-range']).toBe('bytes 0-7/32');
  });

  it('a missing log file is the original 400', async () => {
    const r = await bare.inject({ method: 'GET', url: '/logs/launcher' });
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(r.body).Detail.Message).toBe('error occurred while reading file info describing the named file');
  });

  it('serves the OpenAPI document as /api/swagger.yaml', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/swagger.yaml' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/yaml/);
    expect(r.body).toMatch(/^openapi: 3\.0\.3/m);
    expect(r.body).toContain('/projects/{projectIdOrName}/clusters');
  });
});
