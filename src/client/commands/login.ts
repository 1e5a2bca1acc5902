// `michman login` / `logout`: what logging in means depends on the server's authorization model
// (src/api/routes/auth.ts):
// - authentication off (no use_auth, or model none): nothing to do, every caller may do everything;
// - keystone: the user pastes an OpenStack token (`openstack token issue`);
// - oauth2: the user pastes an access token from the identity provider;
// - any model: the user pastes a Michman API token (POST /tokens, or `michman token create`).
// A pasted identity-provider token expires within hours, so login trades it for a Michman API token
// (POST /tokens) and keeps that one; --keep-token keeps the pasted token itself. The token is read
// from a hidden prompt or stdin: a --token argument is visible to every user of the machine (ps).
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { API_TOKEN_PREFIX } from '../../auth/tokens.js';
import { ApiClient } from '../http.js';
import { act, common, enc, intFlag, type Ctx } from '../context.js';
import { ApiError, UsageError } from '../errors.js';
import { credentialsFile, loadCredentials, saveCredentials } from '../credentials.js';

interface AuthData {
  message?: string;
  groups?: string;
  user_id?: string;
}

type Mode = 'off' | 'on';

/** Whether the server wants credentials at all: /auth is absent or says so when it does not. */
async function authMode(url: string): Promise<Mode> {
  try {
    const d = await new ApiClient(url).get<AuthData>('/auth');
    return d?.message?.startsWith('Authentication is off') ? 'off' : 'on';
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return 'off';
    if (err instanceof ApiError) return 'on';
    throw err;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A line typed on the terminal without echo. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new UsageError('login interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export function loginCommands(program: Command): void {
  common(
    program
      .command('login')
      .summary('log in to a Michman server and keep its token (0600)')
      .description(
        'log in to a Michman server and keep the token (0600, in $XDG_CONFIG_HOME/michman or ~/.config/michman). The token is read from a hidden prompt, or from stdin when it is not a terminal (e.g. `openstack token issue -f value -c id | michman login --url ...`); --token works but puts the token where other users of this machine can see it (ps, shell history)',
      )
      .option('--token <token>', 'the token (not recommended: visible in the process list; prefer the prompt or stdin)')
      .option('--keep-token', 'keep the given token as is instead of trading it for a Michman API token')
      .option('--days <n>', 'the API token login creates expires after n days', '90'),
    { output: false },
  ).action(
    act(async (ctx: Ctx, _a, o: { token?: string; keepToken?: boolean; days: string }) => {
      const url = ctx.url;
      const days = intFlag('--days', o.days)!;
      const mode = await authMode(url);
      if (mode === 'off') {
        const c = loadCredentials();
        c.current = url;
        saveCredentials(c);
        process.stderr.write(`${url} has authentication off: no login needed; it is now the default server\n`);
        return;
      }
      let token = o.token;
      if (token === undefined) {
        if (process.stdin.isTTY) token = await promptHidden(`Token for ${url} (a Michman API token, an OpenStack token or an access token; input hidden): `);
        else token = await readStdin();
      }
      token = token.trim();
      if (!token) throw new UsageError('no token given (type it at the prompt or pipe it on stdin)');
      if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError('the token has spaces or characters a token cannot have');

      const api = new ApiClient(url, token);
      // /tokens needs a valid identity, so a bad token is refused with the real reason (expired,
      // revoked, unknown); /auth then names the user.
      await api.get('/tokens');
      const who = await api.get<AuthData>('/auth');
      let keep = token;
      let tokenId: string | undefined;
      if (!token.startsWith(API_TOKEN_PREFIX) && !o.keepToken) {
        const t = await api.post<{ ID: string; Token: string }>('/tokens', { Name: `michman-cli@${hostname()}`.slice(0, 255), ExpiresInDays: days });
        keep = t.Token;
        tokenId = t.ID;
      }
      const c = loadCredentials();
      c.current = url;
      c.servers[url] = { token: keep, user: who?.user_id, ...(tokenId ? { tokenId } : {}), savedAt: new Date().toISOString() };
      const file = saveCredentials(c);
      process.stderr.write(`logged in to ${url} as ${who?.user_id || '?'}${who?.groups && who.groups !== 'none' ? ` (groups ${who.groups})` : ''}; ${tokenId ? `an API token valid ${days} days` : 'the token'} is kept in ${file}\n`);
    }),
  );

  common(program.command('logout').summary('forget the kept token and revoke it').description('forget the token kept for the server (and revoke the API token login created)'), { output: false }).action(
    act(async (ctx) => {
      const url = ctx.url;
      const c = loadCredentials();
      const saved = c.servers[url];
      if (!saved) {
        process.stderr.write(`not logged in to ${url}\n`);
        return;
      }
      if (saved.tokenId) {
        try {
          await new ApiClient(url, saved.token).delete(`/tokens/${enc(saved.tokenId)}`);
        } catch (err) {
          process.stderr.write(`michman: the API token was not revoked on the server (${(err as Error).message}); it is forgotten here anyway\n`);
        }
      }
      delete c.servers[url];
      saveCredentials(c);
      process.stderr.write(`logged out of ${url} (${credentialsFile()})\n`);
    }),
  );
}
