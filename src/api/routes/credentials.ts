// GET /projects/{p}/clusters/{c}/credentials: the one answer that carries the services' passwords.
// Project members only (the policy's /projects/* rule, as every cluster route), and audited like
// a mutating request (route config `audit`, honoured by auth/plugin.ts), since it reveals secrets.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';
import type { SecretStore } from '../../secrets/types.js';
import { clusterCredentials } from '../../clusters/index.js';
import { ok } from '../envelope.js';
import { route, param } from '../routeKit.js';

const nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);

export const CredentialsSchema = Type.Object(
  {
    Service: Type.String({ description: 'The service’s Name (its Type when it has none).' }),
    Type: Type.String(),
    User: nullable(Type.String()),
    Password: nullable(Type.String({ description: 'The password or token the user gave, or the one Michman generated.' })),
    Host: nullable(Type.String()),
    Port: nullable(Type.Integer()),
    URL: nullable(Type.String()),
    ConnectionString: nullable(Type.String({ description: 'e.g. postgresql://user:password@host:5432/db' })),
  },
  { title: 'ServiceCredentials' },
);

export function credentialsRoutes(app: FastifyInstance, store: Store, secrets: SecretStore | undefined): void {
  app.get(
    '/projects/:projectIdOrName/clusters/:clusterIdOrName/credentials',
    {
      ...route({ tag: 'clusters', summary: "Users, passwords, addresses and connection strings of a cluster's services (audited)", operationId: 'getClusterCredentials', params: param('projectIdOrName', 'clusterIdOrName'), data: Type.Array(CredentialsSchema) }),
      config: { audit: true },
    },
    async (req, reply) => {
      const p = req.params as { projectIdOrName: string; clusterIdOrName: string };
      reply.header('cache-control', 'no-store');
      return ok(req, reply, await clusterCredentials(store, secrets, p.projectIdOrName, p.clusterIdOrName));
    },
  );
}
