// The two ONC RPC calls the nfs_server health check makes from the host, over TCP (RFC 5531 with
// record marking): NFS's NULL procedure (the server answers on 2049) and MOUNT v3's EXPORT
// procedure (what `showmount -e` lists, RFC 1813 §5.2.5). No library: a call is 40 bytes.
import { connect } from 'node:net';

export const NFS_PROGRAM = 100003;
export const MOUNT_PROGRAM = 100005;

/** One RPC call with AUTH_NONE; resolves with the procedure's result bytes, rejects on a refusal. */
export function rpcCall(host: string, port: number, program: number, version: number, procedure: number, timeoutMs = 4000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const xid = Math.floor(Math.random() * 0xffffffff) >>> 0;
    const body = Buffer.alloc(40);
    [xid, 0, 2, program, version, procedure, 0, 0, 0, 0].forEach((v, i) => body.writeUInt32BE(v, i * 4));
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE((0x80000000 | body.length) >>> 0);
    const s = connect({ host, port });
    let got = Buffer.alloc(0);
    let fragments: Buffer[] = [];
    const fail = (e: Error) => {
      s.destroy();
      reject(e);
    };
    s.setTimeout(timeoutMs, () => fail(new Error(`no RPC answer from ${host}:${port} in ${timeoutMs} ms`)));
    s.on('error', fail);
    s.on('connect', () => s.write(Buffer.concat([mark, body])));
    s.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      // Reassemble record-marked fragments until the last one.
      while (got.length >= 4) {
        const header = got.readUInt32BE(0);
        const len = header & 0x7fffffff;
        if (got.length < 4 + len) return;
        fragments.push(got.subarray(4, 4 + len));
        got = got.subarray(4 + len);
        if (header & 0x80000000) {
          const reply = Buffer.concat(fragments);
          fragments = [];
          s.destroy();
          try {
            resolve(acceptedResult(reply, xid));
          } catch (e) {
            reject(e as Error);
          }
          return;
        }
      }
    });
  });
}

function acceptedResult(reply: Buffer, xid: number): Buffer {
  if (reply.length < 24 || reply.readUInt32BE(0) !== xid || reply.readUInt32BE(4) !== 1) throw new Error('not an RPC reply to our call');
  if (reply.readUInt32BE(8) !== 0) throw new Error('RPC call denied');
  const verfLen = reply.readUInt32BE(16);
  const at = 20 + Math.ceil(verfLen / 4) * 4;
  const status = reply.readUInt32BE(at);
  const names = ['SUCCESS', 'PROG_UNAVAIL', 'PROG_MISMATCH', 'PROC_UNAVAIL', 'GARBAGE_ARGS', 'SYSTEM_ERR'];
  if (status !== 0) throw new Error(`RPC call not accepted: ${names[status] ?? status}`);
  return reply.subarray(at + 4);
}

/** The export list of a MOUNT v3 server: each exported path with the clients it names. */
export async function mountExports(host: string, port: number, timeoutMs = 4000): Promise<Array<{ dir: string; groups: string[] }>> {
  const r = await rpcCall(host, port, MOUNT_PROGRAM, 3, 5, timeoutMs);
  let at = 0;
  const u32 = () => {
    const v = r.readUInt32BE(at);
    at += 4;
    return v;
  };
  const str = () => {
    const len = u32();
    const v = r.toString('utf8', at, at + len);
    at += Math.ceil(len / 4) * 4;
    return v;
  };
  const out: Array<{ dir: string; groups: string[] }> = [];
  while (u32() === 1) {
    const dir = str();
    const groups: string[] = [];
    while (u32() === 1) groups.push(str());
    out.push({ dir, groups });
  }
  return out;
}
