// Shared set-up of the local provider/deployer suites: a throw-away data root that service users can
// traverse, a step context that records events, deployments built from the built-in catalog, and a
// last-resort sweep that kills anything still running on the data root.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EngineEvent, ProvisionedNode, StepContext } from '../../src/providers/types.js';
import type { ServiceDeployment } from '../../src/deploy/types.js';
import { findProcesses } from '../../src/host/processes.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { LOCAL_SERVICE_MODULES } from '../../src/deploy/local/deployer.js';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function installed(path: string): boolean {
  return existsSync(path);
}

export function tempRoot(prefix: string): { root: string; dataRoot: string; cleanup(): Promise<void> } {
  const root = mkdtempSync(join(tmpdir(), `michman-${prefix}-`));
  chmodSync(root, 0o711); // service users (postgres, mysql, ...) must traverse it
  const dataRoot = join(root, 'data');
  return {
    root,
    dataRoot,
    async cleanup() {
      await killEverythingUnder(root);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** SIGKILLs every process of a known service program whose arguments point under `dir`. */
export async function killEverythingUnder(dir: string): Promise<number> {
  const programs = LOCAL_SERVICE_MODULES.flatMap((m) => [m.processName, ...(m.helperProcesses ?? [])]);
  const pids = await findProcesses({ programs, marker: dir });
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return pids.length;
}

export interface RecordingContext extends StepContext {
  events: EngineEvent[];
  controller: AbortController;
}

export function context(clusterId = `c${randomBytes(6).toString('hex')}`): RecordingContext {
  const controller = new AbortController();
  const events: EngineEvent[] = [];
  return {
    clusterId,
    clusterName: `${clusterId}-test`,
    signal: controller.signal,
    controller,
    events,
    emit: (e) => events.push(e),
  };
}

interface CatalogParam {
  ParameterName: string;
  Type: string;
  IsList: boolean;
  DefaultValue: string;
  Required: boolean;
}

/** A deployment of `type` as the engine would hand it over, with the catalog's parameters. */
export function deployment(
  type: string,
  nodes: ProvisionedNode[],
  opts: { version?: string; config?: Record<string, string>; accessPort?: number } = {},
): ServiceDeployment {
  const doc = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'catalog', `${type}.json`), 'utf8')) as {
    DefaultVersion: string;
    AccessPort?: number;
    Versions: Array<{ Version: string; Configs?: CatalogParam[] }>;
  };
  const version = opts.version ?? doc.DefaultVersion;
  const v = doc.Versions.find((x) => x.Version === version);
  return {
    type,
    version,
    config: opts.config ?? {},
    params: (v?.Configs ?? []).map((c) => ({
      ParameterName: c.ParameterName,
      Type: c.Type,
      IsList: c.IsList,
      DefaultValue: c.DefaultValue,
      Required: c.Required,
    })),
    nodes,
    accessPort: opts.accessPort ?? doc.AccessPort ?? 0,
  };
}

/**
 * A port in 20000-31999 that differs between runs, so the tests also exercise AccessPort. Below the
 * kernel's ephemeral range (32768+), so no test server elsewhere on 127.0.0.1 picks it by chance.
 */
export function freeishPort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}
