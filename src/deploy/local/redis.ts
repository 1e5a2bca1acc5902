// Redis from the Debian package redis-server: foreground process, requirepass from db_password,
// append-only persistence in the service's data directory, bound to the node address only.
import { join } from 'node:path';
import { writeOwned } from './files.js';
import { redisCommands } from './net.js';
import { errorText, executable, type ServiceModule, type ServiceRun } from './service.js';

/** A double-quoted Redis config string (the config parser understands \\, \" and \xHH). */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

export const redis: ServiceModule = {
  type: 'redis',
  defaultPort: 6379,
  processName: 'redis-server',
  versionProbe: { args: ['--version'], pattern: /\bv=(\d+\.\d+(?:\.\d+)*)/ },
  runAs: ['redis'],
  secretParams: { password: 'db_password' },

  locate: () => executable('/usr/bin/redis-server', 'redis', 'redis-server'),

  ports: (run) => [run.port],

  async configure(run: ServiceRun, program: string) {
    const conf = join(run.confDir, 'redis.conf');
    const lines = [
      `bind ${run.address}`,
      `port ${run.port}`,
      'protected-mode yes',
      'daemonize no',
      'supervised no',
      // Keep argv as we started it: the pid file check reads the config path from /proc/<pid>/cmdline.
      'set-proc-title no',
      'logfile ""',
      'always-show-logo no',
      `dir ${quote(run.dataDir)}`,
      'appendonly yes',
      'save ""',
      `requirepass ${quote(run.secrets.password ?? '')}`,
    ];
    await writeOwned(conf, lines.join('\n') + '\n', run.user, 0o600);
    return { program, args: [conf] };
  },

  async health(run) {
    try {
      const [auth, pong] = await redisCommands(run.address, run.port, [['AUTH', run.secrets.password ?? ''], ['PING']]);
      if (auth !== '+OK') return { healthy: false, detail: `AUTH answered ${auth?.slice(0, 80)}` };
      if (pong !== '+PONG') return { healthy: false, detail: `PING answered ${pong?.slice(0, 80)}` };
      return { healthy: true, detail: `AUTH +OK, PING +PONG at ${run.address}:${run.port}` };
    } catch (e) {
      return { healthy: false, detail: `redis ${run.address}:${run.port}: ${errorText(e)}` };
    }
  },
};
