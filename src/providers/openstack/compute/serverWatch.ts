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
import { raceAbort } from '../../../abort.js';

interface Snapshot {
  /** When the call was sent: it shows every server created before then. */
  started: number;
  /** When the answer came; undefined while the call is in flight. */
  at?: number;
  servers: Promise<Map<string, Server>>;
}

export class ServerWatch {
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly s: Session,
    private readonly freshMs = 400,
  ) {}

  /**
   * The cluster's servers by ID, from a list call shared with other callers of the moment: one in
   * flight, or one answered less than `freshMs` ago. `sentAfter`: only a call sent after then will
   * do (it must show a server created since).
   */
  async servers(tag: string, signal: AbortSignal, sentAfter = 0): Promise<Map<string, Server>> {
    const hit = this.snapshots.get(tag);
    if (hit && hit.started >= sentAfter && (hit.at === undefined || Date.now() - hit.at < this.freshMs)) return raceAbort(hit.servers, signal);
    // A caller's abort must not fail the others joined to the same call: it stops waiting only.
    const snap: Snapshot = { started: Date.now(), servers: listServers(this.s, { tag }, AbortSignal.timeout(120_000)).then((l) => new Map(l.map((x) => [x.id, x]))) };
    this.snapshots.set(tag, snap);
    const forget = () => this.snapshots.get(tag) === snap && this.snapshots.delete(tag);
    snap.servers.then(
      () => {
        snap.at = Date.now();
        setTimeout(forget, this.freshMs).unref();
      },
      forget,
    );
    return raceAbort(snap.servers, signal);
  }

  /**
   * One server as the cluster's list shows it. A server missing from a shared answer may be newer
   * than it: a list sent from now on is asked (shared with the others who missed theirs); one still
   * missing there (not listed yet, or gone) is asked for by ID, so "gone" never rests on a list.
   */
  async server(tag: string, id: string, signal: AbortSignal): Promise<Server | undefined> {
    const now = Date.now();
    return (await this.servers(tag, signal)).get(id) ?? (await this.servers(tag, signal, now)).get(id) ?? (await getServer(this.s, id, signal));
  }
}
