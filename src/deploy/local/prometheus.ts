// Prometheus from the Debian package prometheus, scraping itself. (The catalog's node exporter is
// not started locally: every local node is the same host, so one exporter would report it N times.)
import { join } from 'node:path';
import { writeOwned } from './files.js';
import { httpGet } from './net.js';
import { boolParam, errorText, executable, type ServiceModule, type ServiceRun } from './service.js';

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

function duration(run: ServiceRun, name: string, dflt: string): string {
  const v = (run.config[name] ?? '').trim() || dflt;
  if (!DURATION.test(v)) throw new Error(`service 'prometheus': ${name} '${v}' is not a duration like 15s, 1h30m or 15d`);
  return v;
}

export const prometheus: ServiceModule = {
  type: 'prometheus',
  defaultPort: 9090,
  processName: 'prometheus',
  versionProbe: { args: ['--version'], pattern: /\bversion (\d+\.\d+(?:\.\d+)*)/ },
  runAs: ['prometheus'],
  secretParams: {},

  locate: () => executable('/usr/bin/prometheus', 'prometheus', 'prometheus'),

  ports: (run) => [run.port],

  validate(run) {
    duration(run, 'retention_time', '15d');
    duration(run, 'scrape_interval', '15s');
    boolParam(run, 'install_node_exporter', true);
  },

  async configure(run, program) {
    if (boolParam(run, 'install_node_exporter', true)) {
      run.emit('info', 'install_node_exporter: no node exporter on the local provider (all nodes are this host); Prometheus scrapes itself');
    }
    const conf = {
      global: { scrape_interval: duration(run, 'scrape_interval', '15s') },
      scrape_configs: [{ job_name: 'prometheus', static_configs: [{ targets: [`${run.address}:${run.port}`] }] }],
    };
    const path = join(run.confDir, 'prometheus.yml');
    // JSON is YAML: no YAML library needed to write it.
    await writeOwned(path, JSON.stringify(conf, null, 2) + '\n', run.user, 0o600);
    return {
      program,
      args: [
        `--config.file=${path}`,
        `--storage.tsdb.path=${run.dataDir}`,
        `--storage.tsdb.retention.time=${duration(run, 'retention_time', '15d')}`,
        `--web.listen-address=${run.address}:${run.port}`,
      ],
    };
  },

  async health(run) {
    try {
      const r = await httpGet(`http://${run.address}:${run.port}/-/ready`);
      if (r.status !== 200) return { healthy: false, detail: `GET /-/ready → ${r.status} ${r.body.trim().slice(0, 80)}` };
      return { healthy: true, detail: `GET /-/ready → 200 at ${run.address}:${run.port}` };
    } catch (e) {
      return { healthy: false, detail: `prometheus ${run.address}:${run.port}: ${errorText(e)}` };
    }
  },
};
