// Coalesced reads (src/store/readBatcher.ts): the reads asked in one turn share one statement, reads
// asked while it runs wait for the next, each gets its own answer, and a failed statement fails
// only the reads it was answering.
import { describe, it, expect } from 'vitest';
import { ReadBatcher } from '../../src/store/readBatcher.js';

describe('ReadBatcher', () => {
  it('answers the reads of one turn with one call, each with its own value, in order', async () => {
    const calls: string[][] = [];
    const b = new ReadBatcher<string, string>(async (keys) => {
      calls.push(keys);
      return keys.map((k) => k.toUpperCase());
    });
    const values = await Promise.all(['a', 'b', 'a', 'c'].map((k) => b.read(k)));
    expect(values).toEqual(['A', 'B', 'A', 'C']);
    expect(calls).toEqual([['a', 'b', 'a', 'c']]);
  });

  it('reads asked while a call runs go together into the next one, never into the running one', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new ReadBatcher<number, number>(async (keys) => {
      calls.push(keys);
      if (calls.length === 1) await gate;
      return keys.map((k) => k * 10);
    });
    const first = b.read(1);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[1]]);
    const later = [b.read(2), b.read(3)];
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([[1]]);
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(later)).toEqual([20, 30]);
    expect(calls).toEqual([[1], [2, 3]]);
  });

  it('bounds the keys of one call', async () => {
    const sizes: number[] = [];
    const b = new ReadBatcher<number, number>(async (keys) => {
      sizes.push(keys.length);
      return keys;
    }, 3);
    expect(await Promise.all([1, 2, 3, 4, 5, 6, 7].map((k) => b.read(k)))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(sizes).toEqual([3, 3, 1]);
  });

  it('a failed call fails its own reads only; the next call answers the others', async () => {
    let n = 0;
    const b = new ReadBatcher<string, string>(async (keys) => {
      n++;
      if (n === 1) throw new Error('connection lost');
      return keys;
    });
    const failed = Promise.allSettled([b.read('x'), b.read('y')]);
    await new Promise((r) => setImmediate(r));
    const next = b.read('z');
    const [x, y] = await failed;
    expect(x.status).toBe('rejected');
    expect((x as PromiseRejectedResult).reason.message).toBe('connection lost');
    expect(y.status).toBe('rejected');
    expect(await next).toBe('z');
  });
});
