// The page registry and the session. A page is { id, title, role, render(main, ctx) };
// render may return a function that stops what the page started (timers, streams).
// Later areas add a module under pages/ that calls registerPage, and one import in pages/index.js.

const pages = [];
const ROLES = ['viewer', 'operator', 'admin'];

export function registerPage(page) {
  pages.push(page);
  pages.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
}

export function allowed(session, role) {
  return !role || (session && ROLES.indexOf(session.role) >= ROLES.indexOf(role));
}

export function visiblePages(session) {
  return pages.filter(p => allowed(session, p.role));
}

export function findPage(id) {
  return pages.find(p => p.id === id);
}
