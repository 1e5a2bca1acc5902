// Templates, common (/templates) and per project (/projects/{p}/templates). Unlike the original's
// legacy handlers they use the envelope, 201/204 and 404, and a project's templates stay in it.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../../store/store.js';
import { TemplateSchema, type Template } from '../../domain/wire.js';
import { checkTemplateBody, resolveTemplateServices, templateServiceTypes } from '../../domain/templates.js';
import { COMMON } from '../../store/repos/templates.js';
import { newId } from '../../store/ids.js';
import { input } from '../body.js';
import { ok, created, noContent } from '../envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders, found } from '../routeKit.js';

interface Scope {
  projectId: string;
  suffix: string; // the part after DisplayName- in Name
}

export function templateRoutes(app: FastifyInstance, store: Store): void {
  // The two families differ only in how the scope is found.
  const common = async (): Promise<Scope> => ({ projectId: COMMON, suffix: 'common' });
  const ofProject = async (db: Store, req: FastifyRequest): Promise<Scope> => {
    const p = (req.params as { projectIdOrName: string }).projectIdOrName;
    const project = await found(db.projects.find(p), 'project', p);
    return { projectId: project.ID, suffix: project.Name };
  };
  register(app, store, '/templates', [], common);
  register(app, store, '/projects/:projectIdOrName/templates', ['projectIdOrName'], ofProject);
}

function register(
  app: FastifyInstance,
  store: Store,
  base: string,
  scopeParams: string[],
  scopeOf: (db: Store, req: FastifyRequest) => Promise<Scope>,
): void {
  const tag = 'templates';
  const listParams = scopeParams.length ? param(...scopeParams) : undefined;
  const oneParams = param(...scopeParams, 'templateID');
  const templateId = (req: FastifyRequest) => (req.params as { templateID: string }).templateID;

  // Create and replace answer with the template as read back, so the reply is what GET will return.
  const readBack = async (tx: Store, scope: Scope, id: string) => (await tx.templates.find(scope.projectId, id))!;

  // A write locks what it relies on before its first read (MariaDB's snapshot starts there): the
  // project, so it is not deleted under the new template, and the service types the body names.
  const lockRefs = async (tx: Store, req: FastifyRequest) => {
    const p = (req.params as { projectIdOrName?: string }).projectIdOrName;
    if (p !== undefined) await tx.projects.lockShared([p]);
    const services = (req.body as Template | undefined)?.Services;
    await tx.serviceTypes.lockShared(Array.isArray(services) ? templateServiceTypes(services) : []);
  };

  const resolveServices = async (tx: Store, body: Template) =>
    resolveTemplateServices(body.Services ?? [], await tx.serviceTypes.findByNames(templateServiceTypes(body.Services)), newId);

  app.get(base, route({ tag, summary: 'List templates', params: listParams, querystring: PageQuery, data: Type.Array(TemplateSchema) }), async (req, reply) => {
    const scope = await scopeOf(store, req);
    return ok(req, reply, pageHeaders(req, reply, await store.templates.list(scope.projectId, pageRequest(req))));
  });

  app.post(base, route({ tag, summary: 'Create a template', params: listParams, body: TemplateSchema, data: TemplateSchema, status: 201 }), async (req, reply) => {
    const t = await store.transaction(async (tx) => {
      await lockRefs(tx, req);
      const scope = await scopeOf(tx, req);
      const body = input<Template>(req);
      checkTemplateBody(body, false);
      const tpl = {
        ID: newId(),
        ProjectID: scope.projectId,
        Name: `${body.DisplayName}-${scope.suffix}`,
        DisplayName: body.DisplayName!,
        Services: await resolveServices(tx, body),
        NSlaves: body.NSlaves ?? 0,
        Description: body.Description ?? '',
      };
      await tx.templates.insert(tpl);
      return readBack(tx, scope, tpl.ID);
    });
    return created(req, reply, t);
  });

  app.get(`${base}/:templateID`, route({ tag, summary: 'Get a template', params: oneParams, data: TemplateSchema }), async (req, reply) => {
    const scope = await scopeOf(store, req);
    return ok(req, reply, await found(store.templates.find(scope.projectId, templateId(req)), 'template', templateId(req)));
  });

  // PUT replaces DisplayName, Services, NSlaves and Description, as the original did; Name follows DisplayName.
  app.put(`${base}/:templateID`, route({ tag, summary: 'Replace a template', params: oneParams, body: TemplateSchema, data: TemplateSchema }), async (req, reply) => {
    const t = await store.transaction(async (tx) => {
      await lockRefs(tx, req);
      const scope = await scopeOf(tx, req);
      const stored = await found(tx.templates.find(scope.projectId, templateId(req)), 'template', templateId(req));
      const body = input<Template>(req);
      checkTemplateBody(body, true);
      const displayName = body.DisplayName ?? stored.DisplayName;
      const next = {
        ...stored,
        Name: `${displayName}-${scope.suffix}`,
        DisplayName: displayName,
        Services: await resolveServices(tx, body),
        NSlaves: body.NSlaves ?? 0,
        Description: body.Description ?? '',
      };
      await tx.templates.update(next);
      return readBack(tx, scope, next.ID);
    });
    return ok(req, reply, t);
  });

  app.delete(`${base}/:templateID`, route({ tag, summary: 'Delete a template', params: oneParams, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      const scope = await scopeOf(tx, req);
      const stored = await found(tx.templates.find(scope.projectId, templateId(req)), 'template', templateId(req));
      await tx.templates.delete(stored.ID);
    });
    return noContent(reply);
  });
}
