// Idempotency-Key under concurrency and its retention: two requests with one key never both do the
// work, never answer 500; keys older than the retention are purged.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import { NoopDeployer } from '../../src/deploy/noop.js';

/** A deployer whose POST-time check takes a while, so concurrent requests overlap for sure; `gate` holds it. */
class SlowCheck extends NoopDeployer {
  gate: Promise<void> | undefined;
  entered: (() => void) | undefined;
  override async check(): Promise<string[]> {
    this.entered?.();
    await (this.gate ?? new Promise((r) => setTimeout(r, 60)));
    return [];
  }
}

for (const backend of backends()) {
  describe(`idempotency keys [${backend.name}]`, () => {
    let opened: OpenedStore;
    let app: FastifyInstance;
    let api: Api;
    const slow = new SlowCheck();
    beforeAll(async () => {
      opened = await backend.open();
      app = await buildServer({ store: opened.store, logger: false, deployer: slow });
      api = new Api(app, opened.store);
      await api.post('/images', image());
      await api.post('/flavors', flavor());
      expect((await api.post('/projects', project('gamma'))).status).toBe(201);
    });
    afterAll(async () => {
      await app?.close();
      await opened?.cleanup();
    });

    it('concurrent requests with one key: the first response (replayed) or a 409 naming the key, never a 500', async () => {
      const send = () => api.request('POST', '/projects/gamma/clusters', { DisplayName: 'race' }, { 'idempotency-key': 'k-race' });
      const replies = await Promise.all([send(), send(), send()]);
      expect(replies.map((r) => r.status).filter((s) => s !== 201 && s !== 409)).toEqual([]);
      const first = replies.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
      expect(first).toHaveLength(1);
      for (const r of replies) {
        if (r.status === 409) expect(r.message).toContain('k-race');
        else expect(r.data.ID).toBe(first[0]!.data.ID);
      }
      // Once the first has answered, the key replays it.
      const again = await send();
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.data.ID).toBe(first[0]!.data.ID);
      expect((await api.get('/projects/gamma/clusters/race-gamma/operations')).data).toHaveLength(1);
    });

    it('a repeat while the first request is still running is a 409 naming the key; afterwards it replays', async () => {
      let open!: () => void;
      slow.gate = new Promise<void>((r) => (open = r));
      const inside = new Promise<void>((r) => (slow.entered = r));
      const send = () => api.request('POST', '/projects/gamma/clusters', { DisplayName: 'held' }, { 'idempotency-key': 'k-held' });
      const first = send();
      await inside;
      const second = await send();
      expect(second.status).toBe(409);
      expect(second.message).toContain("'k-held'");
      expect(second.message).toMatch(/in progress/);
      slow.gate = undefined;
      slow.entered = undefined;
      open();
      const a = await first;
      expect(a.status).toBe(201);
      const again = await send();
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.data.ID).toBe(a.data.ID);
    });

    it('keys are scoped by caller, method and path: the same key on another route is another request', async () => {
      const a = await api.request('POST', '/projects/gamma/clusters', { DisplayName: 'scoped' }, { 'idempotency-key': 'k-scope' });
      expect(a.status).toBe(201);
      const b = await api.request('DELETE', '/projects/gamma/clusters/scoped-gamma?dryRun=true&force=true', undefined, { 'idempotency-key': 'k-scope' });
      expect(b.status, b.raw).toBe(200);
      expect(b.headers['idempotent-replayed']).toBeUndefined();
    });

    it('a refused request does not burn its key: the same key may be used again after a 4xx from validation', async () => {
      const bad = await api.request('POST', '/projects/gamma/clusters', { DisplayName: 'bad name!' }, { 'idempotency-key': 'k-bad' });
      expect(bad.status).toBe(400);
      const again = await api.request('POST', '/projects/gamma/clusters', { DisplayName: 'bad name!' }, { 'idempotency-key': 'k-bad' });
      expect(again.status).toBe(400);
    });

    it('keys older than the retention are purged by the server housekeeping', async () => {
      await opened.store.transaction((tx) => tx.operations.saveIdempotencyKey({ scope: 'POST /x', key: 'old', requestHash: 'h', response: { status: 201, body: {} } }, Date.now() - 3 * 86_400_000));
      const app2 = await buildServer({ store: opened.store, logger: false, idempotency: { retentionMs: 86_400_000, purgeEveryMs: 20 } });
      try {
        const end = Date.now() + 5000;
        while (Date.now() < end && (await opened.store.operations.findIdempotencyKey('POST /x', 'old'))) await new Promise((r) => setTimeout(r, 20));
        expect(await opened.store.operations.findIdempotencyKey('POST /x', 'old')).toBeUndefined();
        // A fresh one stays.
        expect(await opened.store.operations.findIdempotencyKey(`POST /projects/gamma/clusters`, 'k-race')).toBeDefined();
      } finally {
        await app2.close();
      }
    });
  });
}
