// NATS from the Debian package nats-server: one server per node of the service, clients on the
// AccessPort, monitoring on 8222, and (with more than one node) routes between the nodes on 6222.
// The config file is JSON, which the NATS config parser accepts as is.
import { join } from 'node:path';
import { writeOwned } from './files.js';
import { natsPing } from './net.js';
import { boolParam, errorText, executable, intParam, type ServiceModule, type ServiceRun } from './service.js';

export const NATS_MONITOR_PORT = 8222;
export const NATS_ROUTE_PORT = 6222;

function natsUser(run: ServiceRun): string {
  return run.config.user || 'nats';
}

export const nats: ServiceModule = {
  type: 'nats',
  defaultPort: 4222,
  processName: 'nats-server',
  versionProbe: { args: ['--version'], pattern: /\bv(\d+\.\d+(?:\.\d+)*)/ },
  runAs: ['nats'],
  secretParams: { password: 'password', routePassword: '' },

  locate: () => executable('/usr/sbin/nats-server', 'nats', 'nats-server'),

  ports: (run) => [run.port, NATS_MONITOR_PORT, ...(run.nodes.length > 1 ? [NATS_ROUTE_PORT] : [])],

  validate(run) {
    intParam(run, 'max_payload', 1, 64 * 1024 * 1024);
    boolParam(run, 'jetstream', true);
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(natsUser(run))) throw new Error(`service 'nats': user '${natsUser(run)}' must be 1-64 letters, digits or _.@-`);
  },

  async configure(run, program) {
    const conf: Record<string, unknown> = {
      server_name: run.node.name,
      listen: `${run.address}:${run.port}`,
      http: `${run.address}:${NATS_MONITOR_PORT}`,
      max_payload: intParam(run, 'max_payload', 1, 64 * 1024 * 1024),
      authorization: { user: natsUser(run), password: run.secrets.password ?? '' },
    };
    if (boolParam(run, 'jetstream', true)) conf.jetstream = { store_dir: join(run.dataDir, 'jetstream') };
    if (run.nodes.length > 1) {
      const routePw = run.secrets.routePassword ?? '';
      conf.cluster = {
        name: `michman-${run.clusterId}`.slice(0, 64),
        listen: `${run.address}:${NATS_ROUTE_PORT}`,
        authorization: { user: 'route', password: routePw },
        routes: run.nodes
          .filter((n) => n.address !== run.address)
          .map((n) => `nats-route://route:${encodeURIComponent(routePw)}@${n.address}:${NATS_ROUTE_PORT}`),
      };
    }
    const path = join(run.confDir, 'nats.conf');
    await writeOwned(path, JSON.stringify(conf, null, 2) + '\n', run.user, 0o600);
    return { program, args: ['-c', path] };
  },

  async health(run) {
    try {
      const { answer, info } = await natsPing(run.address, run.port, { user: natsUser(run), pass: run.secrets.password ?? '' });
      if (answer !== 'PONG') return { healthy: false, detail: `CONNECT/PING answered ${answer.slice(0, 100)}` };
      return { healthy: true, detail: `INFO from nats-server ${String(info.version ?? '?')}, CONNECT+PING → PONG at ${run.address}:${run.port}` };
    } catch (e) {
      return { healthy: false, detail: `nats ${run.address}:${run.port}: ${errorText(e)}` };
    }
  },
};
