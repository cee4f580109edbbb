import { get } from '../api.js';
import { el, clear, fmtTime, sortableTable, validatedForm, errorLine } from '../dom.js';
import { registerPage } from '../app.js';

registerPage({
  id: 'audit', title: 'Audit log', order: 85, role: 'admin',
  render(main) {
    let offset = 0, total = 0, query = {};
    const error = errorLine('audit-error');
    const table = sortableTable([
      { key: 'at', title: 'When', render: e => fmtTime(e.at) },
      { key: 'actor', title: 'Who' },
      { key: 'source', title: 'From' },
      { key: 'action', title: 'Action' },
      { key: 'target', title: 'Target' },
      { key: 'result', title: 'Result', render: e => el('span', { class: e.result === 'ok' ? 'pill ok' : 'pill bad' }, e.result) },
      { key: 'detail', title: 'Detail' },
    ], { id: 'audit-table', empty: 'No entries match.' });
    const filter = validatedForm({
      id: 'audit-filter',
      fields: [
        { name: 'actor', label: 'User' },
        { name: 'action', label: 'Action (user.* for a prefix)' },
        { name: 'from', label: 'From', type: 'datetime-local' },
        { name: 'to', label: 'To', type: 'datetime-local' },
        { name: 'limit', label: 'Per page', options: ['25', '50', '100', '250'], value: '50' },
      ],
      submitLabel: 'Apply',
      onSubmit: async (v) => {
        query = { actor: v.actor.trim(), action: v.action.trim(), limit: v.limit,
          from: v.from ? new Date(v.from).toISOString() : '', to: v.to ? new Date(v.to).toISOString() : '' };
        offset = 0;
        await load();
      },
    });
    filter.inputs.limit.value = '50';
    const position = el('span', { id: 'audit-position', class: 'muted' });
    const previous = el('button', { class: 'secondary', type: 'button', id: 'audit-previous',
      onclick: () => { offset = Math.max(0, offset - limit()); load().catch(e => { error.textContent = e.message; }); } }, '‹ Newer');
    const next = el('button', { class: 'secondary', type: 'button', id: 'audit-next',
      onclick: () => { offset += limit(); load().catch(e => { error.textContent = e.message; }); } }, 'Older ›');
    const limit = () => Number(query.limit || 50);

    clear(main, el('h1', {}, 'Audit log'), el('section', { class: 'card' }, filter.node),
      el('div', { class: 'toolbar' }, previous, next, position), error, table.node);

    async function load() {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
      params.set('offset', String(offset));
      params.set('limit', String(limit()));
      const page = await get('/audit?' + params);
      total = page.total;
      table.update(page.entries);
      position.textContent = total ? `${offset + 1}–${Math.min(total, offset + page.entries.length)} of ${total}` : 'none';
      previous.disabled = offset === 0;
      next.disabled = offset + page.entries.length >= total;
      error.textContent = '';
    }
    load().catch(e => { error.textContent = e.message; });
  },
});
