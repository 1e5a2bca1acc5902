import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';
import { ProjectSchema, type Project } from '../../domain/wire.js';
import { checkNewProject, patchProject, PROJECT_REFS } from '../../domain/projects.js';
import { exists, validation, notFound } from '../../domain/errors.js';
import { newId } from '../../store/ids.js';
import { input } from '../body.js';
import { ok, created, noContent } from '../envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders, found } from '../routeKit.js';
import { checkGroupChoice, visibleGroups } from '../../auth/identity.js';

/**
 * Shares the rows of the image and flavors a body names, so none of them is deleted or renamed
 * before the project referring to it commits (image/flavor PUT and DELETE take them exclusively).
 * Runs before the body is validated (PUT answers 404 first), so only string values count.
 */
async function lockProjectRefs(tx: Store, body: unknown): Promise<void> {
  const p = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const named = (fields: readonly (typeof PROJECT_REFS)[number][]) =>
    fields.map((f) => p[f]).filter((v): v is string => typeof v === 'string' && v !== '');
  await tx.images.lockShared(named(['DefaultImage']));
  await tx.flavors.lockShared(named(PROJECT_REFS.filter((f) => f !== 'DefaultImage')));
}

/** Every image/flavor a project names must exist (404 naming the first that does not). */
async function checkProjectRefs(store: Store, p: Project): Promise<void> {
  for (const f of PROJECT_REFS) {
    const v = p[f];
    if (!v) continue;
    const hit = f === 'DefaultImage' ? await store.images.find(v) : await store.flavors.find(v);
    if (!hit) throw notFound(f === 'DefaultImage' ? 'image' : 'flavor', v);
  }
}

export interface ProjectRouteOptions {
  /** The provider needs images and flavors (every one but local): a project must name its defaults. */
  refsRequired?: boolean;
}

export function projectRoutes(app: FastifyInstance, store: Store, o: ProjectRouteOptions = {}): void {
  const tag = 'projects';
  app.get('/projects', route({ tag, summary: 'List projects', querystring: PageQuery, data: Type.Array(ProjectSchema) }), async (req, reply) =>
    // Non-admins page over their groups' projects only: filtered in the query, so pages are full
    // and no cursor names a project they cannot see.
    ok(req, reply, pageHeaders(req, reply, await store.projects.list(pageRequest(req), visibleGroups(req.identity)))),
  );

  app.post('/projects', route({ tag, summary: 'Create a project', body: ProjectSchema, data: ProjectSchema, status: 201 }), async (req, reply) => {
    const body = input<Project>(req);
    checkNewProject(body, { refsRequired: o.refsRequired });
    checkGroupChoice(req.identity, body.GroupID);
    const project = await store.transaction(async (tx) => {
      await lockProjectRefs(tx, body);
      if (await tx.projects.find(body.DisplayName!)) throw exists('project', body.DisplayName!);
      await checkProjectRefs(tx, body);
      const p = {
        ID: newId(),
        Name: body.DisplayName!,
        DisplayName: body.DisplayName!,
        GroupID: body.GroupID ?? '',
        Description: body.Description ?? '',
        DefaultImage: body.DefaultImage ?? '',
        DefaultMasterFlavor: body.DefaultMasterFlavor ?? '',
        DefaultSlavesFlavor: body.DefaultSlavesFlavor ?? '',
        DefaultStorageFlavor: body.DefaultStorageFlavor ?? '',
        DefaultMonitoringFlavor: body.DefaultMonitoringFlavor ?? '',
      };
      await tx.projects.insert(p);
      return p;
    });
    return created(req, reply, project);
  });

  const one = param('projectIdOrName');
  type P = { Params: { projectIdOrName: string } };
  app.get<P>('/projects/:projectIdOrName', route({ tag, summary: 'Get a project', params: one, data: ProjectSchema }), async (req, reply) =>
    ok(req, reply, await found(store.projects.find(req.params.projectIdOrName), 'project', req.params.projectIdOrName)),
  );

  app.put<P>('/projects/:projectIdOrName', route({ tag, summary: 'Modify a project', params: one, body: ProjectSchema, data: ProjectSchema }), async (req, reply) => {
    const result = await store.transaction(async (tx) => {
      // Locks before the first plain read: MariaDB's REPEATABLE READ snapshot starts there.
      await tx.projects.lock(req.params.projectIdOrName);
      await lockProjectRefs(tx, req.body);
      const stored = await found(tx.projects.find(req.params.projectIdOrName), 'project', req.params.projectIdOrName);
      const body = input<Project>(req);
      const next = patchProject(stored, body);
      if (next.GroupID !== stored.GroupID) checkGroupChoice(req.identity, next.GroupID);
      await checkProjectRefs(tx, body);
      await tx.projects.update(next);
      return next;
    });
    return ok(req, reply, result);
  });

  app.delete<P>('/projects/:projectIdOrName', route({ tag, summary: 'Delete a project and its templates', params: one, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      await tx.projects.lock(req.params.projectIdOrName);
      const stored = await found(tx.projects.find(req.params.projectIdOrName), 'project', req.params.projectIdOrName);
      if (await tx.projects.hasClusters(stored.ID)) throw validation('project has clusters. Delete them first');
      await tx.projects.delete(stored.ID);
    });
    return noContent(reply);
  });
}
