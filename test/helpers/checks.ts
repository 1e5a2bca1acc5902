// Assertions shared by the API suites.
import { expect } from 'vitest';
import type { Api, Reply } from './api.js';

/** Every body is JSON sent as application/json; no 200/201 is empty and no 204 has a body. */
export function checked(r: Reply): Reply {
  if (r.raw !== '') {
    expect(String(r.headers['content-type'])).toMatch(/^application\/json/);
    expect(() => JSON.parse(r.raw)).not.toThrow();
  }
  if (r.status === 200 || r.status === 201) {
    expect(r.raw).not.toBe('');
    expect(r.body).toMatchObject({ Type: r.status === 201 ? 2 : 1, Status: r.status, Title: 'Request successful' });
  }
  if (r.status === 204) expect(r.raw).toBe('');
  return r;
}

export function client(api: () => Api) {
  return {
    get: async (url: string) => checked(await api().get(url)),
    post: async (url: string, body?: unknown) => checked(await api().post(url, body)),
    put: async (url: string, body?: unknown) => checked(await api().put(url, body)),
    delete: async (url: string) => checked(await api().delete(url)),
  };
}

/** An error envelope with this status, class and message (substring, or a RegExp). */
export function expectError(r: Reply, status: number, errorClass: number, message: string | RegExp): void {
  expect({ status: r.status, class: r.body?.Type, message: r.message }).toMatchObject({ status, class: errorClass });
  expect(r.body.Status).toBe(status);
  expect(r.data).toBe('No data');
  if (typeof message === 'string') expect(r.message).toContain(message);
  else expect(r.message).toMatch(message);
}

