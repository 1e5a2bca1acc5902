// The host side of the nspawn provider's network: one bridge per address range carrying the host's
// address (the nodes' gateway and the apt cache's address), and per node a named network namespace
// joined to the bridge by a veth pair. Every call converges: it creates what is missing and leaves
// what is already right, so a repeated step or a restarted Michman does no harm.
import { PROGRAMS, findProgram, run } from '../../host/run.js';
import type { Network } from './names.js';

async function ip(): Promise<string> {
  const p = await findProgram(...PROGRAMS.ip);
  if (!p) throw new Error('the nspawn provider needs iproute2: apt-get install iproute2');
  return p;
}

async function ipRun(args: string[], okCodes: number[] = []): Promise<string> {
  return (await run(await ip(), args, { timeoutMs: 15_000, okCodes })).stdout;
}

export async function linkExists(name: string, netns?: string): Promise<boolean> {
  const args = netns ? ['-n', netns, 'link', 'show', 'dev', name] : ['link', 'show', 'dev', name];
  const r = await run(await ip(), args, { timeoutMs: 15_000, okCodes: [1, 255] });
  return r.code === 0;
}

export async function listNetns(): Promise<string[]> {
  const out = await ipRun(['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Names of host links whose name starts with `prefix`. */
export async function listLinks(prefix: string): Promise<string[]> {
  const out = await ipRun(['-o', 'link', 'show']);
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m && m[1]!.startsWith(prefix)) names.push(m[1]!);
  }
  return names;
}

async function addresses(dev: string, netns?: string): Promise<string[]> {
  const args = [...(netns ? ['-n', netns] : []), '-o', '-4', 'addr', 'show', 'dev', dev];
  const out = await ipRun(args, [1]);
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]!);
}

export async function ensureBridge(name: string, net: Network): Promise<void> {
  if (!(await linkExists(name))) {
    await ipRun(['link', 'add', name, 'type', 'bridge'], [2]).catch(async (e) => {
      // Created meanwhile by a parallel step: fine.
      if (!(await linkExists(name))) throw e;
    });
  }
  const want = `${net.gateway}/${net.prefix}`;
  if (!(await addresses(name)).includes(want)) await ipRun(['addr', 'replace', want, 'dev', name]);
  await ipRun(['link', 'set', name, 'up']);
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await ipRun(['link', 'del', name], [1]);
}

/** Links still attached to the bridge (host ends of veth pairs). */
export async function bridgePorts(bridge: string): Promise<string[]> {
  if (!(await linkExists(bridge))) return [];
  const out = await ipRun(['-o', 'link', 'show', 'master', bridge], [1]);
  return [...out.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]!);
}

/**
 * The node's namespace with `eth0` at `address` on the bridge, `lo` up and a default route via the
 * bridge (only the host answers there: nothing is forwarded or NATed beyond it).
 */
export async function ensureNodeNetwork(o: { netns: string; hostLink: string; bridge: string; address: string; net: Network }): Promise<void> {
  if (!(await listNetns()).includes(o.netns)) {
    await ipRun(['netns', 'add', o.netns]).catch(async (e) => {
      if (!(await listNetns()).includes(o.netns)) throw e;
    });
  }
  const inNs = await linkExists('eth0', o.netns);
  const onHost = await linkExists(o.hostLink);
  if (!inNs || !onHost) {
    // Half a pair (a crash between the two commands): start the pair over.
    if (onHost) await deleteLink(o.hostLink);
    if (inNs) await ipRun(['-n', o.netns, 'link', 'del', 'eth0'], [1]);
    await ipRun(['link', 'add', o.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', o.netns]);
  }
  await ipRun(['link', 'set', o.hostLink, 'master', o.bridge]);
  await ipRun(['link', 'set', o.hostLink, 'up']);
  const want = `${o.address}/${o.net.prefix}`;
  const have = await addresses('eth0', o.netns);
  for (const a of have) if (a !== want) await ipRun(['-n', o.netns, 'addr', 'del', a, 'dev', 'eth0'], [2]);
  if (!have.includes(want)) await ipRun(['-n', o.netns, 'addr', 'add', want, 'dev', 'eth0']);
  await ipRun(['-n', o.netns, 'link', 'set', 'eth0', 'up']);
  await ipRun(['-n', o.netns, 'link', 'set', 'lo', 'up']);
  await ipRun(['-n', o.netns, 'route', 'replace', 'default', 'via', o.net.gateway, 'dev', 'eth0']);
}

/** Removes the namespace (which takes its end of the veth pair, and so the pair) and the host link. */
export async function deleteNodeNetwork(o: { netns: string; hostLink: string }): Promise<void> {
  if ((await listNetns()).includes(o.netns)) await ipRun(['netns', 'del', o.netns], [1]);
  await deleteLink(o.hostLink);
}
