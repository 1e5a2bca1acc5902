// Waiting on many servers of a cluster at once. A GET /servers/{id} per booting server per poll
// is expensive for the cloud, not only for us: Nova answers each by asking Neutron for the server's
// ports and security groups, so 21 servers polled every second or so kept the testbed's
// neutron-server at 100% CPU and made the parallel creates queue behind each other there. Here the
// pollers of one cluster share list calls (GET /servers/detail?tags=<cluster tag>, whose
// Neutron lookups Nova makes in bulk): a caller joins the call in flight, or reuses an answer
// younger than `freshMs`, so the cloud sees about one list per `freshMs` per cluster however many
// servers are waited on.
import type { Session } from '../identity/session.js';
import { getServer, listServers, type Server } from './servers.js';

interface Snapshot {
  /** When the answer came; undefined while the call is in flight (callers join it). */
  at?: number;
  servers: Promise<Map<string, Server>>;
}

export class ServerWatch {
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly s: Session,
    private readonly freshMs = 400,
  ) {}

  /** The cluster's servers by ID, from a list call shared with other callers of the moment. */
  async servers(tag: string, signal: AbortSignal): Promise<Map<string, Server>> {
    const hit = this.snapshots.get(tag);
    if (hit && (hit.at === undefined || Date.now() - hit.at < this.freshMs)) return abortable(hit.servers, signal);
    // A caller's abort must not fail the others joined to the same call: it stops waiting only.
    const snap: Snapshot = { servers: listServers(this.s, { tag }, AbortSignal.timeout(120_000)).then((l) => new Map(l.map((x) => [x.id, x]))) };
    this.snapshots.set(tag, snap);
    const forget = () => this.snapshots.get(tag) === snap && this.snapshots.delete(tag);
    snap.servers.then(
      () => {
        snap.at = Date.now();
        setTimeout(forget, this.freshMs).unref();
      },
      forget,
    );
    return abortable(snap.servers, signal);
  }

  /**
   * One server as the cluster's list shows it; a server missing from the list (just created and not
   * yet listed, or gone) is asked for by ID, so "gone" is never concluded from a list alone.
   */
  async server(tag: string, id: string, signal: AbortSignal): Promise<Server | undefined> {
    return (await this.servers(tag, signal)).get(id) ?? (await getServer(this.s, id, signal));
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
