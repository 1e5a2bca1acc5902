// Versions nspawn nodes cannot run are refused at POST by name: the nats role installs Debian 12's
// nats-server, which is 2.9, so 2.10 and 2.11 (in the catalog for other images) are refused here.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { debianVersionProblem, nspawnMachinery } from '../../src/machinery/nspawn.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('nspawn: versions the nodes cannot run', () => {
  it('refuses nats 2.10 and 2.11 at POST, naming the version and the one Debian 12 ships', async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-nspawn-versions-'));
    const config = loadConfig({ env: {}, cwd: dir, overrides: { provider: 'nspawn', data_dir: dir } });
    const { deployer } = nspawnMachinery(config);
    const problems = (await deployer.check([{ type: 'nats', version: '2.10' }, { type: 'nats', version: '2.11' }, { type: 'nats', version: '2.9' }])).filter((p) => p.startsWith('nats '));
    expect(problems).toEqual([
      "nats version '2.10' cannot be installed on nspawn nodes: the nats role installs nats-server from Debian 12, which ships 2.9; choose version 2.9",
      "nats version '2.11' cannot be installed on nspawn nodes: the nats role installs nats-server from Debian 12, which ships 2.9; choose version 2.9",
    ]);
    expect(debianVersionProblem('redis', 'anything')).toBeUndefined();
  });
});
