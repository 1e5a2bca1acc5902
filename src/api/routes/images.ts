import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../../store/store.js';
import { ImageSchema, FlavorSchema, type Image, type Flavor } from '../../domain/wire.js';
import { checkNewImage, patchImage, checkNewFlavor, patchFlavor } from '../../domain/images.js';
import { exists, used, validation, MichmanError, ErrorClass } from '../../domain/errors.js';
import { newId } from '../../store/ids.js';
import { input } from '../body.js';
import { ok, created, noContent } from '../envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders, found } from '../routeKit.js';

// The original reported a used image as a validation error (class 300) but a used flavor as class 500.
const imageInUse = () => validation("image already in use. it can't be modified or deleted");

export function imageRoutes(app: FastifyInstance, store: Store): void {
  const tag = 'images';
  app.get('/images', route({ tag, summary: 'List images', querystring: PageQuery, data: Type.Array(ImageSchema) }), async (req, reply) =>
    ok(req, reply, pageHeaders(req, reply, await store.images.list(pageRequest(req)))),
  );

  app.post('/images', route({ tag, summary: 'Create an image', body: ImageSchema, data: ImageSchema, status: 201 }), async (req, reply) => {
    const body = input<Image>(req);
    if (body.Name && (await store.images.find(body.Name))) throw exists('image', body.Name);
    checkNewImage(body);
    const image = { ID: newId(), Name: body.Name!, AnsibleUser: body.AnsibleUser!, CloudImageID: body.CloudImageID! };
    await store.images.insert(image);
    return created(req, reply, image);
  });

  const one = param('imageIdOrName');
  type P = { Params: { imageIdOrName: string } };
  app.get<P>('/images/:imageIdOrName', route({ tag, summary: 'Get an image', params: one, data: ImageSchema }), async (req, reply) =>
    ok(req, reply, await found(store.images.find(req.params.imageIdOrName), 'image', req.params.imageIdOrName)),
  );

  app.put<P>('/images/:imageIdOrName', route({ tag, summary: 'Modify an image', params: one, body: ImageSchema, data: ImageSchema }), async (req, reply) => {
    const result = await store.transaction(async (tx) => {
      await tx.images.lock(req.params.imageIdOrName);
      const stored = await found(tx.images.find(req.params.imageIdOrName), 'image', req.params.imageIdOrName);
      const body = input<Image>(req);
      if (await tx.images.isUsed(stored)) throw imageInUse();
      const next = patchImage(stored as Required<Image>, body);
      await tx.images.update(next);
      return next;
    });
    return ok(req, reply, result);
  });

  app.delete<P>('/images/:imageIdOrName', route({ tag, summary: 'Delete an image', params: one, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      await tx.images.lock(req.params.imageIdOrName);
      const stored = await found(tx.images.find(req.params.imageIdOrName), 'image', req.params.imageIdOrName);
      if (await tx.images.isUsed(stored)) throw imageInUse();
      await tx.images.delete(stored.ID!);
    });
    return noContent(reply);
  });
}

export function flavorRoutes(app: FastifyInstance, store: Store): void {
  const tag = 'flavors';
  app.get('/flavors', route({ tag, summary: 'List flavors', querystring: PageQuery, data: Type.Array(FlavorSchema) }), async (req, reply) =>
    ok(req, reply, pageHeaders(req, reply, await store.flavors.list(pageRequest(req)))),
  );

  app.post('/flavors', route({ tag, summary: 'Create a flavor', body: FlavorSchema, data: FlavorSchema, status: 201 }), async (req, reply) => {
    const body = input<Flavor>(req);
    if (body.Name && (await store.flavors.find(body.Name))) throw exists('flavor', body.Name);
    checkNewFlavor(body);
    const flavor = { ID: newId(), Name: body.Name!, VCPUs: body.VCPUs!, RAM: body.RAM!, Disk: body.Disk! };
    await store.flavors.insert(flavor);
    return created(req, reply, flavor);
  });

  const one = param('flavorIdOrName');
  type P = { Params: { flavorIdOrName: string } };
  app.get<P>('/flavors/:flavorIdOrName', route({ tag, summary: 'Get a flavor', params: one, data: FlavorSchema }), async (req, reply) =>
    ok(req, reply, await found(store.flavors.find(req.params.flavorIdOrName), 'flavor', req.params.flavorIdOrName)),
  );

  app.put<P>('/flavors/:flavorIdOrName', route({ tag, summary: 'Modify a flavor', params: one, body: FlavorSchema, data: FlavorSchema }), async (req, reply) => {
    const result = await store.transaction(async (tx) => {
      await tx.flavors.lock(req.params.flavorIdOrName);
      const stored = await found(tx.flavors.find(req.params.flavorIdOrName), 'flavor', req.params.flavorIdOrName);
      const body = input<Flavor>(req);
      const next = patchFlavor(stored as Required<Flavor>, body);
      if (next.Name !== stored.Name && (await tx.flavors.find(next.Name))) throw exists('flavor', next.Name);
      if (await tx.flavors.isUsed(stored)) throw used("flavor already in use. it can't be modified or deleted");
      await tx.flavors.update(next);
      return next;
    });
    return ok(req, reply, result);
  });

  app.delete<P>('/flavors/:flavorIdOrName', route({ tag, summary: 'Delete a flavor', params: one, status: 204 }), async (req, reply) => {
    await store.transaction(async (tx) => {
      await tx.flavors.lock(req.params.flavorIdOrName);
      const stored = await found(tx.flavors.find(req.params.flavorIdOrName), 'flavor', req.params.flavorIdOrName);
      if (await tx.flavors.isUsed(stored)) throw used("flavor already in use. it can't be modified or deleted");
      await tx.flavors.delete(stored.ID!);
    });
    return noContent(reply);
  });
}
