// Small DOM helpers. Text always goes in as text nodes, never as HTML, so every
// user-supplied string is shown exactly as written.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function fmtDuration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
  return (d ? `${d}d ` : '') + (d || h ? `${h}h ` : '') + `${m}m ${Math.floor(seconds % 60)}s`;
}

/**
 * A table whose columns sort on click. columns: [{ key, title, value?(row), render?(row), sort? }].
 * Returns { node, update(rows) }.
 */
export function sortableTable(columns, { empty = 'Nothing to show.', id } = {}) {
  let rows = [];
  let sortKey = null, direction = 1;
  const headRow = el('tr');
  const body = el('tbody');
  const table = el('table', { id }, el('thead', {}, headRow), body);
  for (const column of columns) {
    const sortable = column.sort !== false;
    const th = el('th', { class: sortable ? 'sortable' : undefined, scope: 'col' }, column.title);
    if (sortable) {
      th.addEventListener('click', () => {
        direction = sortKey === column.key ? -direction : 1;
        sortKey = column.key;
        headRow.querySelectorAll('th').forEach(h => h.removeAttribute('aria-sort'));
        th.setAttribute('aria-sort', direction > 0 ? 'ascending' : 'descending');
        render();
      });
    }
    headRow.append(th);
  }
  const valueOf = (column, row) => column.value ? column.value(row) : row[column.key];
  function render() {
    let sorted = rows.slice();
    if (sortKey) {
      const column = columns.find(c => c.key === sortKey);
      sorted.sort((a, b) => {
        const x = valueOf(column, a), y = valueOf(column, b);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * direction;
      });
    }
    clear(body);
    if (!sorted.length) body.append(el('tr', {}, el('td', { colspan: columns.length, class: 'muted' }, empty)));
    for (const row of sorted) {
      body.append(el('tr', {}, columns.map(c => el('td', {}, c.render ? c.render(row) : valueOf(c, row)))));
    }
  }
  render();
  return { node: table, update(newRows) { rows = newRows || []; render(); } };
}

/**
 * A form whose fields are checked before sending; server errors that name a field are
 * shown next to it, others under the form. fields: [{ name, label, type?, options?,
 * required?, pattern?, minLength?, hint?, check?(value) }].
 */
export function validatedForm({ id, fields, submitLabel, onSubmit }) {
  const inputs = {}, errors = {};
  const formError = el('div', { class: 'error', role: 'alert' });
  const button = el('button', { type: 'submit' }, submitLabel);
  const form = el('form', { class: 'inline', id, novalidate: true });
  for (const f of fields) {
    const inputId = `${id}-${f.name}`;
    const input = f.options
      ? el('select', { id: inputId, name: f.name }, f.options.map(o => el('option', { value: o }, o)))
      : el('input', { id: inputId, name: f.name, type: f.type || 'text', autocomplete: f.autocomplete || 'off', placeholder: f.placeholder });
    if (f.value !== undefined) input.value = f.value;
    inputs[f.name] = input;
    errors[f.name] = el('div', { class: 'error', id: `${inputId}-error` });
    form.append(el('div', { class: 'field' }, el('label', { for: inputId }, f.label), input, errors[f.name]));
  }
  form.append(el('div', { class: 'form-actions' }, button), formError);
  function showErrors(map, general) {
    for (const f of fields) {
      const message = map[f.name] || '';
      errors[f.name].textContent = message;
      inputs[f.name].setAttribute('aria-invalid', message ? 'true' : 'false');
    }
    formError.textContent = general || '';
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = {}, problems = {};
    for (const f of fields) {
      const value = inputs[f.name].value;
      values[f.name] = value;
      if (f.required && !value.trim()) problems[f.name] = `${f.label} is required`;
      else if (value && f.minLength && value.length < f.minLength) problems[f.name] = `at least ${f.minLength} characters`;
      else if (value && f.pattern && !new RegExp(`^(?:${f.pattern})$`).test(value)) problems[f.name] = f.hint || 'invalid value';
      else if (f.check) { const p = f.check(value, values); if (p) problems[f.name] = p; }
    }
    if (Object.keys(problems).length) { showErrors(problems); return; }
    showErrors({});
    button.disabled = true;
    try {
      await onSubmit(values, form);
    } catch (e) {
      if (e.field && inputs[e.field]) showErrors({ [e.field]: e.message });
      else showErrors({}, e.message);
    } finally {
      button.disabled = false;
    }
  });
  return { node: form, inputs, reset() { form.reset(); showErrors({}); }, showErrors };
}

/** A place for an error under a section, for failures that belong to no form. */
export function errorLine(id) {
  return el('div', { class: 'error', role: 'alert', id });
}
