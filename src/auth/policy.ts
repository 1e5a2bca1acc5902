// Authorization with casbin, in the original's format: request and policy are (sub, obj, act),
// sub is a role (admin, project_member, user), obj the URL path, act the HTTP method. The built-in
// model is the original's; the built-in policy states the matrix the original meant (§12.3):
// admins everything; a project's members everything on it (clusters, templates, operations,
// events, logs); every authenticated user the catalog, images, flavors, global templates, their
// own API tokens, and creating a project. auth_config_path / policy_path replace either file.
import { readFileSync, existsSync } from 'node:fs';
import { newEnforcer, newModelFromString, StringAdapter, type Enforcer } from 'casbin';

export const DEFAULT_MODEL = `[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && keyMatch(r.obj, p.obj) && (r.act == p.act || p.act == "*")
`;

export const DEFAULT_POLICY = `p, admin, *, *
p, project_member, /projects/*, *
p, project_member, /logs/projects/*, GET
p, project_member, /operations/*, *
p, user, /projects, GET
p, user, /projects, POST
p, user, /configs, GET
p, user, /configs/*, GET
p, user, /images, GET
p, user, /images/*, GET
p, user, /flavors, GET
p, user, /flavors/*, GET
p, user, /templates, GET
p, user, /templates/*, GET
p, user, /tokens, GET
p, user, /tokens, POST
p, user, /tokens/*, DELETE
p, user, /auth, GET
p, user, /logout, *
p, user, /version, GET
p, user, /api/*, GET
`;

export type Role = 'admin' | 'project_member' | 'user';

export class Policy {
  private constructor(private readonly enforcer: Enforcer) {}

  static async load(o: { modelPath?: string; policyPath?: string } = {}): Promise<Policy> {
    const read = (path: string | undefined, key: string, fallback: string) => {
      if (path === undefined || path === '') return fallback;
      if (!existsSync(path)) throw new Error(`${key}: file ${path} does not exist`);
      return readFileSync(path, 'utf8');
    };
    const model = newModelFromString(read(o.modelPath, 'auth_config_path', DEFAULT_MODEL));
    const enforcer = await newEnforcer(model, new StringAdapter(read(o.policyPath, 'policy_path', DEFAULT_POLICY)));
    return new Policy(enforcer);
  }

  /** True when any of the roles may do act on obj. */
  allows(roles: readonly Role[], obj: string, act: string): boolean {
    return roles.some((r) => this.enforcer.enforceSync(r, obj, act));
  }
}
