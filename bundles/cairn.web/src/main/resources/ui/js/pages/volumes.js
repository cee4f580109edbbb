import { get, post, del, api } from '../api.js';
import { el, clear, fmtTime, fmtBytes, sortableTable, validatedForm, errorLine } from '../dom.js';
import { registerPage, allowed } from '../app.js';

// Block volumes: the list, create, and for the selected volume its details, resize,
// attach/detach with the connection details, and a live I/O chart sampled from
// /volumes/{id}/stats (counters; the page turns two samples into rates).

const NAME = '[A-Za-z0-9][A-Za-z0-9._-]{0,63}';
const NAME_HINT = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";
const SIZE = '[0-9]+ ?([KMGT](i?B)?)?';
const SIZE_HINT = 'bytes, or a number with K, M, G or T (binary), e.g. 10G';
const POINTS = 60;
const SAMPLE_MS = 2000;

/** "10G" -> bytes (binary units); null when it does not parse. */
export function parseSize(text) {
  const m = /^([0-9]+) ?([KMGT])?(i?B)?$/i.exec(text.trim());
  if (!m) return null;
  const shift = { K: 10, M: 20, G: 30, T: 40 }[(m[2] || '').toUpperCase()] || 0;
  return Number(m[1]) * 2 ** shift;
}

const sizeCheck = v => {
  const n = parseSize(v);
  if (n === null) return SIZE_HINT;
  return n <= 0 || n % 4096 !== 0 ? 'must be a positive multiple of 4096 bytes' : null;
};

registerPage({
  id: 'volumes', title: 'Volumes', order: 30, role: 'viewer',
  render(main, { session }) {
    const canChange = allowed(session, 'operator');
    let selected = null;
    let history = [];
    let last = null;

    const listError = errorLine('volumes-error');
    const table = sortableTable([
      { key: 'name', title: 'Name', render: v => el('a', { href: '#/volumes', 'data-volume': v.id,
          onclick: (e) => { e.preventDefault(); select(v.id); } }, v.name) },
      { key: 'id', title: 'Id' },
      { key: 'account', title: 'Account' },
      { key: 'sizeBytes', title: 'Size', render: v => fmtBytes(v.sizeBytes) },
      { key: 'state', title: 'State', render: v => el('span', { class: 'state-' + v.state }, v.state) },
      { key: 'attachedInstanceId', title: 'Instance', render: v => v.attachedInstanceId || '—' },
      { key: 'epoch', title: 'Epoch' },
      { key: 'createdAt', title: 'Created', render: v => fmtTime(v.createdAt) },
    ], { id: 'volumes-table', empty: 'No volumes yet.' });

    const create = validatedForm({
      id: 'create-volume',
      fields: [
        { name: 'name', label: 'Name', required: true, pattern: NAME, hint: NAME_HINT },
        { name: 'size', label: 'Size', required: true, placeholder: '10G', check: sizeCheck },
      ],
      submitLabel: 'Create volume',
      onSubmit: async (v) => {
        let created;
        try {
          created = await post('/volumes', { name: v.name, sizeBytes: parseSize(v.size) });
        } catch (e) {
          if (e.field === 'sizeBytes') e.field = 'size';
          throw e;
        }
        create.reset();
        await load();
        select(created.id);
      },
    });

    const detail = el('section', { class: 'card', id: 'volume-detail', hidden: true });
    const chartIops = el('canvas', { class: 'chart', id: 'volume-iops-chart', width: 800, height: 180 });
    const chartBytes = el('canvas', { class: 'chart', id: 'volume-throughput-chart', width: 800, height: 180 });
    const rates = el('p', { class: 'muted', id: 'volume-rates' }, 'Collecting samples…');

    clear(main, el('h1', {}, 'Volumes'),
      el('section', { class: 'card' }, el('h2', {}, session.role === 'admin' ? 'Volumes' : 'Volumes of your account'),
        listError, table.node, canChange ? [el('h2', {}, 'New volume'), create.node] : null),
      detail);

    async function load() {
      try {
        const volumes = await get('/volumes');
        table.update(volumes);
        listError.textContent = '';
        if (selected && !volumes.some(v => v.id === selected)) { selected = null; detail.hidden = true; }
      } catch (e) { listError.textContent = e.message; }
    }

    async function select(id) {
      if (selected !== id) { history = []; last = null; }
      selected = id;
      let v;
      try { v = await get('/volumes/' + encodeURIComponent(id)); } catch (e) { listError.textContent = e.message; return; }
      renderDetail(v, null);
      sample();
    }

    function renderDetail(v, connection) {
      const error = errorLine('volume-detail-error');
      const a = v.attachment;
      const resize = validatedForm({
        id: 'resize-volume',
        fields: [{ name: 'size', label: 'New size (grows online)', required: true, value: String(v.sizeBytes), check: sizeCheck }],
        submitLabel: 'Resize',
        onSubmit: async (f) => {
          try {
            renderDetail(await api('PATCH', '/volumes/' + encodeURIComponent(v.id), { sizeBytes: parseSize(f.size) }), null);
          } catch (e) { if (e.field === 'sizeBytes') e.field = 'size'; throw e; }
          load();
        },
      });
      const attach = validatedForm({
        id: 'attach-volume',
        fields: [{ name: 'instanceId', label: 'Instance id', required: true, pattern: '[A-Za-z0-9._:@-]{1,128}',
          hint: '1-128 letters, digits or . _ : @ -' }],
        submitLabel: 'Attach',
        onSubmit: async (f) => {
          const attached = await post('/volumes/' + encodeURIComponent(v.id) + '/attachments', { instanceId: f.instanceId });
          await load();
          renderDetail(await get('/volumes/' + encodeURIComponent(v.id)), attached);
        },
      });
      const detach = async (force) => {
        if (force && !confirm(`Fence attachment ${a.attachmentId}? Its connections are closed and its credentials refused.`)) return;
        try {
          await del('/volumes/' + encodeURIComponent(v.id) + '/attachments/' + encodeURIComponent(a.attachmentId)
            + (force ? '?force=true' : ''));
          await load();
          renderDetail(await get('/volumes/' + encodeURIComponent(v.id)), null);
        } catch (e) { error.textContent = e.message; }
      };
      const remove = async () => {
        if (!confirm(`Delete volume ${v.name} and all its data?`)) return;
        try { await del('/volumes/' + encodeURIComponent(v.id)); selected = null; detail.hidden = true; load(); }
        catch (e) { error.textContent = e.message; }
      };
      clear(detail, el('h2', {}, 'Volume ', el('span', { id: 'volume-detail-name' }, v.name)),
        el('dl', { class: 'facts' },
          el('dt', {}, 'Id'), el('dd', {}, v.id),
          el('dt', {}, 'Size'), el('dd', { id: 'volume-detail-size' }, `${fmtBytes(v.sizeBytes)} (${v.sizeBytes} bytes)`),
          el('dt', {}, 'State'), el('dd', { id: 'volume-detail-state' }, v.state),
          el('dt', {}, 'Account'), el('dd', {}, v.account),
          el('dt', {}, 'Epoch'), el('dd', {}, String(v.epoch)),
          a ? [el('dt', {}, 'Attached to'), el('dd', { id: 'volume-detail-instance' }, a.instanceId),
            el('dt', {}, 'Attachment'), el('dd', {}, a.attachmentId),
            el('dt', {}, 'Lease until'), el('dd', {}, fmtTime(a.leaseExpiresAt)),
            el('dt', {}, 'Connections'), el('dd', {}, String(a.openConnections))] : null),
        error,
        connection ? connectionDetails(connection) : null,
        canChange ? [
          el('h3', {}, 'Resize'), resize.node,
          a ? el('div', { class: 'form-actions' },
                el('button', { type: 'button', id: 'detach-volume', onclick: () => detach(false) }, 'Detach'),
                session.role === 'admin'
                  ? el('button', { type: 'button', class: 'danger', id: 'force-detach-volume', onclick: () => detach(true) }, 'Force detach')
                  : null)
            : [el('h3', {}, 'Attach'), attach.node],
          el('div', { class: 'form-actions' },
            el('button', { type: 'button', class: 'danger', id: 'delete-volume', onclick: remove }, 'Delete volume')),
        ].flat() : null, // el() flattens one level only
        el('h3', {}, 'I/O'), rates,
        el('h4', {}, 'Operations per second (read, write)'), chartIops,
        el('h4', {}, 'Throughput, MiB/s (read, write)'), chartBytes);
      detail.hidden = false;
    }

    async function sample() {
      if (!selected) return;
      const id = selected;
      let s;
      try { s = await get('/volumes/' + encodeURIComponent(id) + '/stats'); } catch (e) { return; }
      if (id !== selected) return;
      if (last) {
        const dt = (new Date(s.sampledAt) - new Date(last.sampledAt)) / 1000;
        if (dt > 0) {
          const point = {
            readIops: (s.readOps - last.readOps) / dt, writeIops: (s.writeOps - last.writeOps) / dt,
            readMiBs: (s.readBytes - last.readBytes) / dt / 1048576, writeMiBs: (s.writeBytes - last.writeBytes) / dt / 1048576,
          };
          // Counters restart with the engine: a negative rate is a restart, not a real value.
          if (Object.values(point).every(x => x >= 0)) {
            history.push(point);
            if (history.length > POINTS) history.shift();
            rates.textContent = `read ${point.readIops.toFixed(0)} IOPS, ${point.readMiBs.toFixed(1)} MiB/s · `
              + `write ${point.writeIops.toFixed(0)} IOPS, ${point.writeMiBs.toFixed(1)} MiB/s · `
              + `${s.openConnections} connection(s)`;
            rates.dataset.readOps = String(s.readOps);
            rates.dataset.writeOps = String(s.writeOps);
          }
        }
      }
      last = s;
      draw(chartIops, history, [{ key: 'readIops', color: '#2f6f9f' }, { key: 'writeIops', color: '#c2410c' }]);
      draw(chartBytes, history, [{ key: 'readMiBs', color: '#2f6f9f' }, { key: 'writeMiBs', color: '#c2410c' }]);
    }

    load();
    const timer = setInterval(() => { sample(); }, SAMPLE_MS);
    const listTimer = setInterval(() => { load(); }, 10 * SAMPLE_MS);
    return () => { clearInterval(timer); clearInterval(listTimer); };
  },
});

function connectionDetails(c) {
  const tls = c.tls;
  return el('div', { id: 'volume-connection' },
    el('h3', {}, 'Connection details'),
    el('p', {}, 'Give these to the instance ', el('strong', {}, c.instanceId), ' (epoch ', String(c.epoch),
      '). Attaching the same instance again shows them again.'),
    el('div', { class: 'secret', id: 'volume-uri' }, c.uri),
    tls ? [
      el('p', {}, 'TLS files for the client (a directory with these three; libnbd: ?tls-certificates=DIR):'),
      el('h4', {}, 'ca-cert.pem'), el('pre', { class: 'secret', id: 'volume-ca-cert' }, tls.caCertPem),
      el('h4', {}, 'client-cert.pem'), el('pre', { class: 'secret', id: 'volume-client-cert' }, tls.clientCertPem),
      el('h4', {}, 'client-key.pem'), el('pre', { class: 'secret', id: 'volume-client-key' }, tls.clientKeyPem),
    ] : el('p', { class: 'muted' }, 'Lab mode: plaintext NBD; the export name in the URI is the credential.'));
}

/** Lines of the recent rates, each series scaled to the largest value shown. */
function draw(canvas, history, series) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 800, height = canvas.clientHeight || 180;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  let max = 1;
  for (const p of history) for (const s of series) max = Math.max(max, p[s.key]);
  g.strokeStyle = '#e5e9ee'; g.fillStyle = '#8896a4'; g.font = '11px system-ui';
  for (const f of [0, 0.5, 1]) {
    const y = height - 4 - (height - 8) * f;
    g.beginPath(); g.moveTo(44, y); g.lineTo(width, y); g.stroke();
    g.fillText((max * f).toFixed(max * f < 10 ? 1 : 0), 2, y + 4);
  }
  const step = (width - 44) / (POINTS - 1);
  for (const s of series) {
    g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
    history.forEach((p, i) => {
      const x = 44 + (POINTS - history.length + i) * step, y = height - 4 - (height - 8) * p[s.key] / max;
      if (i) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  }
}
