import { api, get, post, del, setCsrfToken, onUnauthenticated } from './api.js';
import { el, clear, validatedForm } from './dom.js';
import { visiblePages, findPage, allowed } from './app.js';
import './pages/index.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const banner = document.getElementById('banner');
let session = null;
let stopPage = null;

function stopCurrent() {
  if (stopPage) { try { stopPage(); } catch (e) { /* page already gone */ } }
  stopPage = null;
}

function showLogin(message) {
  stopCurrent();
  session = null;
  setCsrfToken(null);
  clear(nav);
  clear(who);
  banner.hidden = true;
  const form = validatedForm({
    id: 'login',
    fields: [
      { name: 'user', label: 'User', required: true, autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' },
    ],
    submitLabel: 'Log in',
    onSubmit: async (values) => {
      const s = await post('/session', { user: values.user.trim(), password: values.password });
      startSession(s);
    },
  });
  clear(main, el('div', { class: 'card login' },
    el('h1', {}, 'Log in to Cairn'),
    message ? el('p', { class: 'muted' }, message) : null,
    form.node,
    el('p', { class: 'muted' }, 'After the first boot, log in as admin with the password in DATA/initial-admin-password.')));
  form.inputs.user.focus();
}

function startSession(s) {
  session = s;
  setCsrfToken(s.csrfToken);
  clear(who, el('span', { id: 'who-name' }, `${s.user} (${s.role})`),
    el('button', { class: 'secondary', id: 'logout', type: 'button', onclick: logout }, 'Log out'));
  renderNav();
  suggestPasswordChange();
  if (!location.hash || location.hash === '#/' || location.hash === '#/login') location.hash = '#/overview';
  else route();
}

async function suggestPasswordChange() {
  banner.hidden = true;
  try {
    const me = await get('/users/' + encodeURIComponent(session.user));
    if (me.createdAt === me.passwordChangedAt && me.name === 'admin') {
      clear(banner, 'You are using the initial admin password. ',
        el('a', { href: '#/users' }, 'Change it'), ' under Users.');
      banner.hidden = false;
    }
  } catch (e) { /* the banner is only a hint */ }
}

async function logout() {
  try { await del('/session'); } catch (e) { /* logged out anyway */ }
  location.hash = '#/login';
  showLogin('You are logged out.');
}

function renderNav() {
  const current = currentId();
  clear(nav, visiblePages(session).map(p =>
    el('a', { href: `#/${p.id}`, id: `nav-${p.id}`, class: p.id === current ? 'active' : undefined }, p.title)));
}

function currentId() {
  return (location.hash.replace(/^#\//, '').split('?')[0]) || 'overview';
}

function route() {
  if (!session) return;
  stopCurrent();
  const page = findPage(currentId());
  renderNav();
  if (!page || !allowed(session, page.role)) {
    clear(main, el('h1', {}, 'Not found'), el('p', {}, 'There is no such page, or your role may not see it.'));
    return;
  }
  document.title = `${page.title} · Cairn`;
  clear(main);
  const stop = page.render(main, { session, refreshSession: suggestPasswordChange, endSession: showLogin });
  stopPage = typeof stop === 'function' ? stop : null;
}

onUnauthenticated(() => showLogin('Your session has ended. Please log in again.'));
window.addEventListener('hashchange', route);

(async function boot() {
  try {
    startSession(await api('GET', '/session'));
  } catch (e) {
    showLogin(e.status === 401 ? null : e.message);
  }
})();
