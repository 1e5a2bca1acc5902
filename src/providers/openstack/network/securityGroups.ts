// Neutron security groups and their rules.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';
import { qs } from '../query.js';

export interface SecurityGroupRule {
  id?: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description?: string;
  tags?: string[];
  security_group_rules?: SecurityGroupRule[];
}

export async function listSecurityGroups(s: Session, f: { tag?: string; name?: string }, signal?: AbortSignal): Promise<SecurityGroup[]> {
  const all = await s.requestAll<SecurityGroup>('network', `/security-groups${qs({ tags: f.tag, name: f.name })}`, 'security_groups', { signal });
  return all.filter((g) => (!f.name || g.name === f.name) && (!f.tag || (g.tags ?? []).includes(f.tag)));
}

export async function createSecurityGroup(s: Session, name: string, description: string, signal?: AbortSignal): Promise<SecurityGroup> {
  return (await s.request<{ security_group: SecurityGroup }>('network', 'POST', '/security-groups', { security_group: { name, description } }, { signal })).security_group;
}

export async function createRule(s: Session, groupId: string, r: Omit<SecurityGroupRule, 'id'>, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('network', 'POST', '/security-group-rules', { security_group_rule: { ...r, security_group_id: groupId } }, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.conflict)) throw err; // the same rule exists already
  }
}

export async function deleteSecurityGroup(s: Session, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('network', 'DELETE', `/security-groups/${encodeURIComponent(id)}`, undefined, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
}
