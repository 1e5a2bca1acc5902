// Service types (/configs) with their versions, version configs and version dependencies.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../../store/store.js';
import {
  ServiceTypeSchema,
  ServiceVersionSchema,
  ServiceConfigSchema,
  ServiceDependencySchema,
  type ServiceType,
  type ServiceVersion,
  type ServiceConfig,
  type ServiceDependency,
} from '../../domain/wire.js';
import {
  patchServiceType,
  checkNewVersion,
  patchVersion,
  checkVersionDeletable,
  checkNewConfig,
  patchConfig,
  checkNewDependency,
  patchDependency,
  dependencyNotFound,
} from '../../domain/catalog.js';
import type { StoredServiceType, StoredVersion } from '../../domain/stored.js';
import { exists, used, MichmanError, ErrorClass } from '../../domain/errors.js';
import { newId } from '../../store/ids.js';
import { input } from '../body.js';
import { createServiceType } from '../../catalog.js';
import type { ServiceCheck } from '../../clusters/index.js';
import { markType, markVersions } from '../deployable.js';
import { ok, okJson, jsonOf, created, noContent } from '../envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders, found } from '../routeKit.js';

const tag = 'service types';

const VIEW_ERROR =
  "bad view param. Supported query variables for view parameter are 'full' and 'summary', 'summary' is default";

function view(req: FastifyRequest): 'full' | 'summary' {
  const v = (req.query as { view?: string }).view;
  if (v === undefined || v === '' || v === 'summary') return 'summary';
  if (v === 'full') return 'full';
  throw new MichmanError(ErrorClass.InputIncorrect, VIEW_ERROR);
}

const ViewQuery = Type.Object({ view: Type.Optional(Type.String({ description: 'summary (default) or full' })) });
const ListQuery = Type.Composite([PageQuery, ViewQuery]);

type TP = { st: string };
type VP = TP & { v: string };

/** Names of the types a set of dependencies points at, fully loaded for the rules. */
const depTargets = (tx: Store, deps: Array<ServiceDependency | undefined>) =>
  tx.serviceTypes.findByNames(deps.map((d) => d?.ServiceType ?? '').filter(Boolean));

/**
 * First step of every write transaction on a type: locks its row, and shares the rows of the types
 * the request's dependencies name, before anything is read (see ServiceTypeRepo.lock). The names are
 * taken leniently from the raw body so a malformed body is still reported after the lookups.
 */
async function lockFor(tx: Store, req: FastifyRequest, targets: string[] = []): Promise<void> {
  await tx.serviceTypes.lock((req.params as TP).st);
  await tx.serviceTypes.lockShared(targets);
}

const nameOf = (d: unknown): string[] => {
  const t = d !== null && typeof d === 'object' ? (d as { ServiceType?: unknown }).ServiceType : undefined;
  return typeof t === 'string' && t !== '' ? [t] : [];
};
const bodyDependencyTargets = (req: FastifyRequest): string[] => {
  const deps = (req.body as { Dependencies?: unknown } | undefined)?.Dependencies;
  return Array.isArray(deps) ? deps.flatMap(nameOf) : [];
};

async function typeOf(tx: Store, req: FastifyRequest): Promise<StoredServiceType> {
  const { st } = req.params as TP;
  return found(tx.serviceTypes.find(st), 'service type', st);
}

async function versionOf(tx: Store, req: FastifyRequest): Promise<{ type: StoredServiceType; version: StoredVersion }> {
  const type = await typeOf(tx, req);
  const { v } = req.params as VP;
  const version = await found(tx.serviceTypes.findVersion(type.ID, v), 'version', v);
  return { type, version };
}

export function configRoutes(app: FastifyInstance, store: Store, deployer?: ServiceCheck): void {
  // ---- service types ----------------------------------------------------------------------------
  app.get('/configs', route({ tag, summary: 'List service types (full by default, ?view=summary for the short form)', querystring: ListQuery, data: Type.Array(ServiceTypeSchema) }), async (req, reply) => {
    // The original's list always returned full documents; keep that unless summary is asked for.
    const wantsSummary = (req.query as { view?: string }).view !== undefined && view(req) === 'summary';
    const page = pageRequest(req);
    if (wantsSummary) return ok(req, reply, pageHeaders(req, reply, await store.serviceTypes.listSummaries(page)));
    const result = await store.serviceTypes.list(page);
    return ok(req, reply, pageHeaders(req, reply, { ...result, items: await Promise.all(result.items.map((t) => markType(deployer, t))) }));
  });

  app.post('/configs', route({ tag, summary: 'Create a service type (the original catalog JSON format)', body: ServiceTypeSchema, data: ServiceTypeSchema, status: 201 }), async (req, reply) => {
    const t = await createServiceType(store, input<ServiceType>(req));
    return created(req, reply, t);
  });

  const tp = param('st');
  app.get('/configs/:st', route({ tag, summary: 'Get a service type (?view=summary|full)', params: tp, querystring: ViewQuery, data: ServiceTypeSchema }), async (req, reply) => {
    const { st } = req.params as TP;
    const v = view(req);
    if (v === 'full') {
      const t = await found(store.serviceTypes.find(st), 'service type', st);
      return okJson(req, reply, jsonOf(deployer ? await markType(deployer, t) : t));
    }
    return ok(req, reply, await found(store.serviceTypes.findSummary(st), 'service type', st));
  });

  app.put('/configs/:st', route({ tag, summary: 'Modify a service type', params: tp, body: ServiceTypeSchema, data: ServiceTypeSchema }), async (req, reply) => {
    const t = await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const stored = await typeOf(tx, req);
      const next = patchServiceType(stored, input<ServiceType>(req), newId);
      await tx.serviceTypes.updateType(next);
      return next;
    });
    return ok(req, reply, t);
  });

  app.delete('/configs/:st', route({ tag, summary: 'Delete a service type', params: tp, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const stored = await typeOf(tx, req);
      if ((await tx.serviceTypes.dependents(stored.Type)).length > 0) {
        throw new MichmanError(ErrorClass.ObjectExists, 'service type presents in dependencies for another service');
      }
      if (await tx.serviceTypes.isUsed(stored.Type)) throw used(`service type ${stored.Type} is used by clusters or templates`);
      await tx.serviceTypes.delete(stored.ID);
    });
    return noContent(reply);
  });

  // ---- versions ---------------------------------------------------------------------------------
  app.get('/configs/:st/versions', route({ tag, summary: 'List versions', params: tp, data: Type.Array(ServiceVersionSchema) }), async (req, reply) =>
    {
      const t = await typeOf(store, req);
      return ok(req, reply, await markVersions(deployer, t.Type, t.Versions));
    },
  );

  app.post('/configs/:st/versions', route({ tag, summary: 'Add a version', params: tp, body: ServiceVersionSchema, data: ServiceVersionSchema, status: 201 }), async (req, reply) => {
    const v = await store.transaction(async (tx) => {
      await lockFor(tx, req, bodyDependencyTargets(req));
      const type = await typeOf(tx, req);
      const body = input<ServiceVersion>(req);
      if (body.Version && type.Versions.some((x) => x.Version === body.Version)) throw exists('service type version', body.Version);
      if (body.ID) throw new MichmanError(ErrorClass.ObjectUnmodified, "service type version 'ID' field is generated and can't be filled by user");
      const taken = new Set(type.Versions.map((x) => x.Version));
      const next = checkNewVersion(type.Type, body, await depTargets(tx, body.Dependencies ?? []), taken, newId);
      await tx.serviceTypes.insertVersion(type.ID, next);
      return next;
    });
    return created(req, reply, v);
  });

  const vp = param('st', 'v');
  app.get('/configs/:st/versions/:v', route({ tag, summary: 'Get a version', params: vp, data: ServiceVersionSchema }), async (req, reply) =>
    {
      const { type, version } = await versionOf(store, req);
      return ok(req, reply, (await markVersions(deployer, type.Type, [version]))[0]);
    },
  );

  app.put('/configs/:st/versions/:v', route({ tag, summary: 'Modify a version (Description, DownloadURL)', params: vp, body: ServiceVersionSchema, data: ServiceVersionSchema }), async (req, reply) => {
    const v = await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const { version } = await versionOf(tx, req);
      const next = patchVersion(version, input<ServiceVersion>(req));
      await tx.serviceTypes.updateVersion(next);
      return next;
    });
    return ok(req, reply, v);
  });

  app.delete('/configs/:st/versions/:v', route({ tag, summary: 'Delete a version', params: vp, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const { type, version } = await versionOf(tx, req);
      checkVersionDeletable(type, version.Version, await tx.serviceTypes.dependents(type.Type));
      if (await tx.serviceTypes.isUsed(type.Type, version.Version)) {
        throw used(`service type version ${version.Version} is used by clusters or templates`);
      }
      await tx.serviceTypes.deleteVersion(version.ID);
    });
    return noContent(reply);
  });

  // ---- version configs --------------------------------------------------------------------------
  app.get('/configs/:st/versions/:v/configs', route({ tag, summary: 'List parameters of a version', params: vp, data: Type.Array(ServiceConfigSchema) }), async (req, reply) =>
    ok(req, reply, (await versionOf(store, req)).version.Configs),
  );

  app.post('/configs/:st/versions/:v/configs', route({ tag, summary: 'Add a parameter', params: vp, body: ServiceConfigSchema, data: ServiceConfigSchema, status: 201 }), async (req, reply) => {
    const c = await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const { type, version } = await versionOf(tx, req);
      const body = input<ServiceConfig>(req);
      if (body.ParameterName && version.Configs.some((x) => x.ParameterName === body.ParameterName)) {
        throw exists('service type version config', body.ParameterName);
      }
      const next = checkNewConfig(type.Type, body, new Set(version.Configs.map((x) => x.ParameterName)), newId);
      await tx.serviceTypes.insertConfig(version.ID, next);
      return next;
    });
    return created(req, reply, c);
  });

  const cp = param('st', 'v', 'parameterName');
  const configOf = async (tx: Store, req: FastifyRequest) => {
    const { type, version } = await versionOf(tx, req);
    const { parameterName } = req.params as VP & { parameterName: string };
    const config = version.Configs.find((x) => x.ParameterName === parameterName);
    return { type, version, config: await found(Promise.resolve(config), 'service type version config', parameterName) };
  };

  app.get('/configs/:st/versions/:v/configs/:parameterName', route({ tag, summary: 'Get a parameter', params: cp, data: ServiceConfigSchema }), async (req, reply) =>
    ok(req, reply, (await configOf(store, req)).config),
  );

  app.put('/configs/:st/versions/:v/configs/:parameterName', route({ tag, summary: 'Modify a parameter', params: cp, body: ServiceConfigSchema, data: ServiceConfigSchema }), async (req, reply) => {
    const c = await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const { type, version, config } = await configOf(tx, req);
      const next = patchConfig(type.Type, config, input<ServiceConfig>(req));
      await tx.serviceTypes.updateConfig(version.ID, next);
      return next;
    });
    return ok(req, reply, c);
  });

  app.delete('/configs/:st/versions/:v/configs/:parameterName', route({ tag, summary: 'Delete a parameter', params: cp, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const { version, config } = await configOf(tx, req);
      await tx.serviceTypes.deleteConfig(version.ID, config.ParameterName);
    });
    return noContent(reply);
  });

  // ---- version dependencies ---------------------------------------------------------------------
  app.get('/configs/:st/versions/:v/dependencies', route({ tag, summary: 'List dependencies of a version', params: vp, data: Type.Array(ServiceDependencySchema) }), async (req, reply) =>
    ok(req, reply, (await versionOf(store, req)).version.Dependencies),
  );

  app.post('/configs/:st/versions/:v/dependencies', route({ tag, summary: 'Add a dependency', params: vp, body: ServiceDependencySchema, data: ServiceDependencySchema, status: 201 }), async (req, reply) => {
    const d = await store.transaction(async (tx) => {
      await lockFor(tx, req, nameOf(req.body));
      const { type, version } = await versionOf(tx, req);
      const body = input<ServiceDependency>(req);
      // The original answered this with an empty 200.
      if (body.ServiceType && version.Dependencies.some((x) => x.ServiceType === body.ServiceType)) {
        throw exists('service type version dependency', body.ServiceType);
      }
      const next = checkNewDependency(body, await depTargets(tx, [body]), new Set(version.Dependencies.map((x) => x.ServiceType)), type.Type);
      await tx.serviceTypes.insertDependency(version.ID, next);
      return next;
    });
    return created(req, reply, d);
  });

  const dp = param('st', 'v', 'dependencyType');
  const dependencyOf = async (tx: Store, req: FastifyRequest) => {
    const { version } = await versionOf(tx, req);
    const { dependencyType } = req.params as VP & { dependencyType: string };
    const dependency = version.Dependencies.find((x) => x.ServiceType === dependencyType);
    // The original answered a missing dependency on DELETE with an empty 200.
    if (!dependency) throw dependencyNotFound(dependencyType, version.Version);
    return { version, dependency };
  };

  app.get('/configs/:st/versions/:v/dependencies/:dependencyType', route({ tag, summary: 'Get a dependency', params: dp, data: ServiceDependencySchema }), async (req, reply) =>
    ok(req, reply, (await dependencyOf(store, req)).dependency),
  );

  app.put('/configs/:st/versions/:v/dependencies/:dependencyType', route({ tag, summary: 'Modify a dependency (ServiceVersions replaces the list)', params: dp, body: ServiceDependencySchema, data: ServiceDependencySchema }), async (req, reply) => {
    const d = await store.transaction(async (tx) => {
      await lockFor(tx, req, [(req.params as { dependencyType: string }).dependencyType]);
      const { version, dependency } = await dependencyOf(tx, req);
      const next = patchDependency(dependency, input<ServiceDependency>(req), await depTargets(tx, [dependency]));
      await tx.serviceTypes.updateDependency(version.ID, next);
      return next;
    });
    return ok(req, reply, d);
  });

  app.delete('/configs/:st/versions/:v/dependencies/:dependencyType', route({ tag, summary: 'Delete a dependency', params: dp, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      await lockFor(tx, req);
      const { version, dependency } = await dependencyOf(tx, req);
      await tx.serviceTypes.deleteDependency(version.ID, dependency.ServiceType);
    });
    return noContent(reply);
  });
}
