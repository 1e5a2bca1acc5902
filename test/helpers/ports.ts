import { createServer } from 'node:net';

/** A TCP port free on `host` right now (the kernel's pick), for a server the test starts next. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once('error', reject)
      .listen(0, host, () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
  });
}
