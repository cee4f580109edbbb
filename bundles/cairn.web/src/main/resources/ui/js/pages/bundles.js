import { get } from '../api.js';
import { el, clear, sortableTable, errorLine } from '../dom.js';
import { registerPage } from '../app.js';

registerPage({
  id: 'bundles', title: 'Bundles', order: 80, role: 'viewer',
  render(main) {
    const error = errorLine('bundles-error');
    const filter = el('input', { id: 'bundles-filter', type: 'search', placeholder: 'Filter by name' });
    const table = sortableTable([
      { key: 'id', title: 'Id' },
      { key: 'symbolicName', title: 'Symbolic name' },
      { key: 'version', title: 'Version' },
      { key: 'state', title: 'State', render: b => el('span', { class: b.state === 'active' ? 'pill ok' : 'pill bad' }, b.state) },
    ], { id: 'bundles-table' });
    let all = [];
    const apply = () => {
      const q = filter.value.trim().toLowerCase();
      table.update(all.filter(b => !q || (b.symbolicName || '').toLowerCase().includes(q)));
    };
    filter.addEventListener('input', apply);
    clear(main, el('h1', {}, 'Bundles'), el('div', { class: 'toolbar' }, filter,
      el('button', { class: 'secondary', type: 'button', onclick: load }, 'Refresh')), error, table.node);
    async function load() {
      try { all = await get('/bundles'); apply(); error.textContent = ''; } catch (e) { error.textContent = e.message; }
    }
    load();
  },
});
