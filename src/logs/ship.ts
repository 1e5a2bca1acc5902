// What the worker tells (each operation's committed events) turned into cluster log lines for
// Logstash: the operation's kind (create, update, scale, delete) gives the action of the original's
// `<action>_<clusterID>`.
import type { Store } from '../store/store.js';
import type { EventInput } from '../store/repos/events.js';
import { clusterLogLine } from './lines.js';
import type { LogstashShipper } from './logstash.js';

export function clusterLogSink(store: Store, shipper: LogstashShipper, log?: { warn(obj: object, msg: string): void }): (operationId: string, clusterId: string, events: EventInput[]) => void {
  const actions = new Map<string, string>();
  let seq = 0;
  const action = async (operationId: string): Promise<string> => {
    const known = actions.get(operationId);
    if (known) return known;
    const op = await store.operations.get(operationId);
    const a = op?.kind ?? 'create';
    if (actions.size > 10_000) actions.clear();
    actions.set(operationId, a);
    return a;
  };
  return (operationId, clusterId, events) => {
    const now = Date.now();
    const numbered = events.map((e) => ({ e, seq: ++seq }));
    void action(operationId).then(
      (a) => {
        for (const { e, seq: n } of numbered) shipper.ship(clusterLogLine(e, { clusterId, operationId, action: a, seq: n, now }));
      },
      (err: unknown) => log?.warn({ err: String(err), operation: operationId }, 'cluster log lines not shipped: operation lookup failed'),
    );
  };
}
