// Keeps credentials that travel in URLs (the login's code and state, tokens some clients put in
// query strings) out of the request log.
const SECRET_PARAMS = /([?&](?:code|state|token|access_token|id_token|refresh_token|client_secret|password|api_key|session)=)[^&#]*/gi;

export const redactQuery = (url: string): string => url.replace(SECRET_PARAMS, '$1***');

/** pino serializer for Fastify requests: the default fields, with the URL's secrets masked. */
export function requestSerializer(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: redactQuery(req.url ?? ''),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
