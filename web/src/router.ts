// A hash router: every page of the console lives under /#/..., so the server only ever serves
// index.html at / and no console path can shadow an API path (/projects, /configs, /api...).
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'projects' }
  | { page: 'login' }
  | { page: 'clusters'; project: string }
  | { page: 'create'; project: string }
  | { page: 'cluster'; project: string; cluster: string };

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'login') return { page: 'login' };
  if (parts[0] === 'projects' && parts[1]) {
    if (parts[2] === 'new') return { page: 'create', project: parts[1] };
    if (parts[2] === 'clusters' && parts[3]) return { page: 'cluster', project: parts[1], cluster: parts[3] };
    return { page: 'clusters', project: parts[1] };
  }
  return { page: 'projects' };
}

export const href = {
  projects: () => '#/',
  login: () => '#/login',
  clusters: (p: string) => `#/projects/${encodeURIComponent(p)}`,
  create: (p: string) => `#/projects/${encodeURIComponent(p)}/new`,
  cluster: (p: string, c: string) => `#/projects/${encodeURIComponent(p)}/clusters/${encodeURIComponent(c)}`,
};

export const go = (to: string) => {
  location.hash = to;
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const on = () => setRoute(parse(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
