import { describe, expect, it } from 'vitest';
import { raceAbort } from '../src/abort.js';

describe('raceAbort', () => {
  it('with a signal already aborted, rejects with its reason and leaves the work\'s own failure handled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const ac = new AbortController();
      ac.abort(new Error('stopping'));
      // Work already started, failing after the call returned (as a health check whose secret is gone).
      const work = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('secret not found')), 10));
      await expect(raceAbort(work, ac.signal)).rejects.toThrow('stopping');
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('passes the work\'s result through while the signal stays quiet', async () => {
    await expect(raceAbort(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
  });
});
