// Leadstroom: who is signed in decides the menu; the URL's #/view/... decides what is drawn.
import config from './config.js';
import * as api from './api.js';
import { t } from './i18n/nl.js';
import { disposeCharts, h, notice } from './ui.js';
import * as overview from './views/overview.js';
import * as segment from './views/segment.js';
import * as nights from './views/nights.js';
import * as settings from './views/settings.js';
import * as partners from './views/partners.js';
import * as marketing from './views/marketing.js';

const ADMIN_VIEWS = {
  overview: [overview, t.nav.overview],
  nights: [nights, t.nav.nights],
  settings: [settings, t.nav.settings],
  partners: [partners, t.nav.partners],
  segment: [segment, null],
  partner: [marketing, null],
};
const PARTNER_VIEWS = { marketing: [marketing, t.nav.marketing] };

const main = document.getElementById('main');
// index.html's few words, from the strings file too.
document.documentElement.lang = 'nl';
document.querySelector('.skip').textContent = t.skipToContent;
document.getElementById('nav').setAttribute('aria-label', t.mainMenu);
let who = null;

function showSignIn(message) {
  document.getElementById('nav').replaceChildren();
  document.getElementById('who').replaceChildren();
  const box = h('section', { class: 'card signin', id: 'sign-in' }, h('h1', {}, t.signIn.title), h('p', {}, t.signIn.intro));
  if (message) box.append(notice(message, 'error'));
  if (config.signIn === 'supabase') {
    const out = h('div');
    const form = h('form', { class: 'inline' },
      h('label', {}, t.signIn.email, h('input', { type: 'email', name: 'email', required: true, autocomplete: 'username' })),
      h('label', {}, t.signIn.password, h('input', { type: 'password', name: 'password', required: true, autocomplete: 'current-password' })),
      h('button', { type: 'submit' }, t.signIn.submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api.signInWithPassword(form.email.value, form.password.value);
        await start();
      } catch (err) {
        out.replaceChildren(notice(err.message, 'error'));
      }
    });
    box.append(form, out);
  } else {
    box.append(h('p', { class: 'empty' }, t.signIn.localHint));
  }
  main.replaceChildren(box);
  document.body.dataset.state = 'signed-out';
}

function views() {
  return who.kind === 'admin' ? ADMIN_VIEWS : PARTNER_VIEWS;
}

function drawNav(current) {
  const items = Object.entries(views())
    .filter(([, [, label]]) => label)
    .map(([name, [, label]]) => h('a', { href: `#/${name}`, 'aria-current': name === current ? 'page' : null }, label));
  const out = h('button', { type: 'button', onclick: async () => { await api.signOut(); who = null; showSignIn(); } }, t.nav.signOut);
  document.getElementById('nav').replaceChildren(...items, out);
  document.getElementById('who').textContent = who.kind === 'admin' ? t.roles.admin : `${t.roles.partner}: ${who.name || ''}`;
}

async function route() {
  if (location.hash.startsWith('#access_token=')) {
    api.takeFragmentToken();
    await start();
    return;
  }
  const [name, ...params] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const all = views();
  const fallback = who.kind === 'admin' ? 'overview' : 'marketing';
  const key = name && all[name] ? name : fallback;
  const [view] = all[key];
  drawNav(key === 'segment' ? 'overview' : key === 'partner' ? 'partners' : key);
  disposeCharts();
  document.body.dataset.state = 'loading';
  document.body.dataset.view = key;
  main.replaceChildren(h('p', {}, t.loading));
  try {
    if (name && !all[name]) throw new Error(who.kind === 'partner' && ADMIN_VIEWS[name] ? t.errors.adminOnly : t.errors.notFound);
    const partnerId = who.kind === 'partner' ? who.id : params[0];
    await view.render(main, { who, params, partnerId, admin: who.kind === 'admin' });
    window.leadstroom = window.leadstroom || {};
    window.leadstroom.readyAt = performance.now();
    document.body.dataset.state = 'ready';
  } catch (err) {
    if (err.status === 401) {
      showSignIn(err.message);
      return;
    }
    main.replaceChildren(notice(err.message, 'error'));
    document.body.dataset.state = 'error';
  }
}

async function start() {
  api.takeFragmentToken();
  try {
    who = await api.whoAmI();
  } catch (err) {
    main.replaceChildren(notice(err.message, 'error'));
    document.body.dataset.state = 'error';
    return;
  }
  if (who.kind === 'anon') {
    showSignIn(who.error);
    return;
  }
  if (who.kind === 'none') {
    document.getElementById('nav').replaceChildren();
    main.replaceChildren(notice(t.errors.noProfile, 'error'));
    document.body.dataset.state = 'error';
    return;
  }
  await route();
}

const signedIn = () => who && (who.kind === 'admin' || who.kind === 'partner');
window.addEventListener('hashchange', () => (signedIn() ? route() : start()));
start();
