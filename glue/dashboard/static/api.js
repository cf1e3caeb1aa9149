// The one way the page reaches data: supabase-js against PostgREST (URL/rest/v1) with the user's JWT.
// Security is the database's: what PostgREST returns for this JWT is what the page shows.
import config from './config.js';
import { t } from './i18n/nl.js';

const TOKEN_KEY = 'leadstroom.access_token';

// Local stack: #access_token=<jwt> in the URL (the convention supabase-js reads), kept for the session.
export function takeFragmentToken() {
  const hash = location.hash;
  if (!hash.startsWith('#access_token=')) return null;
  const params = new URLSearchParams(hash.slice(1));
  const token = params.get('access_token');
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  const view = params.get('view');
  history.replaceState(null, '', `${location.pathname}${location.search}#/${view || ''}`);
  return token;
}

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function makeClient() {
  const { createClient } = window.supabase;
  if (config.signIn === 'supabase') {
    return createClient(config.apiUrl, config.anonKey);
  }
  // No auth server on the local stack: the fragment's token is the access token.
  return createClient(config.apiUrl, config.anonKey, {
    accessToken: async () => storedToken(),
  });
}

export const db = makeClient();

function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return {};
  }
}

// The signed-in user's id (JWT sub), or null for anon.
export async function currentUserId() {
  if (config.signIn === 'supabase') {
    const { data } = await db.auth.getSession();
    return data.session ? data.session.user.id : null;
  }
  const token = storedToken();
  return token ? claimsOf(token).sub || null : null;
}

export async function signInWithPassword(email, password) {
  const { error } = await db.auth.signInWithPassword({ email, password });
  if (error) throw new ApiError(`${t.signIn.failed}: ${error.message}`, error.status || 400);
}

export async function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  if (config.signIn === 'supabase') await db.auth.signOut();
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// PostgREST's message as it is, with its details and hint; 401/403 as a clear Dutch sentence first.
export function describe(error, status) {
  const own = [error.message, error.details, error.hint].filter(Boolean).join(' — ');
  if (status === 401) return t.errors.unauthorized;
  if (status === 403) return `${t.errors.forbidden} ${own}`.trim();
  if (!status) return `${t.errors.network}: ${own}`;
  return own || `${t.errors.server} (${status})`;
}

// Await a supabase-js query; its rows, or an ApiError carrying the message the page shows.
export async function run(query) {
  const { data, error, status } = await query;
  if (error) throw new ApiError(describe(error, status), status);
  return data;
}

export const rpc = (fn, args, options) => run(db.rpc(fn, args, options));

// Who is signed in, as the database sees it: admins read the setting definitions, a partner its own
// marketing profile; anyone else is signed in without a role here.
export async function whoAmI() {
  const id = await currentUserId();
  if (!id) return { kind: 'anon' };
  const defs = await db.from('lead_flow_setting_definitions').select('key').limit(1);
  if (defs.error) {
    if (defs.status === 401) return { kind: 'anon', error: t.errors.unauthorized };
    throw new ApiError(describe(defs.error, defs.status), defs.status);
  }
  if (defs.data.length) return { kind: 'admin', id };
  const me = await run(
    db.from('partner_marketing_profiles').select('partner_id,company_name').eq('partner_id', id),
  );
  if (me.length) return { kind: 'partner', id, name: me[0].company_name };
  return { kind: 'none', id };
}
