import { get } from '../api.js';
import { el, clear, fmtTime, fmtBytes, fmtDuration, sortableTable, errorLine } from '../dom.js';
import { registerPage } from '../app.js';

const SERIES = [
  { key: 'cpu', label: 'CPU %', color: '#2f6f9f' },
  { key: 'mem', label: 'Memory %', color: '#d97706' },
  { key: 'disk', label: 'Disk %', color: '#6b7280' },
];
const POINTS = 60;

registerPage({
  id: 'overview', title: 'Overview', order: 10, role: 'viewer',
  render(main) {
    const facts = el('dl', { class: 'facts', id: 'appliance-facts' });
    const healthStatus = el('span', { id: 'health-status', class: 'pill' }, '…');
    const checks = sortableTable([
      { key: 'name', title: 'Check' },
      { key: 'ok', title: 'Result', render: c => el('span', { class: c.ok ? 'pill ok' : 'pill bad' }, c.ok ? 'ok' : 'failing') },
      { key: 'message', title: 'Message' },
    ], { id: 'health-checks' });
    const canvas = el('canvas', { class: 'chart', id: 'metrics-chart', width: 800, height: 180 });
    const now = el('dl', { class: 'facts', id: 'metrics-now' });
    const error = errorLine('overview-error');
    clear(main,
      el('h1', {}, 'Overview'), error,
      el('div', { class: 'grid' },
        el('section', { class: 'card' }, el('h2', {}, 'Appliance'), facts),
        el('section', { class: 'card' }, el('h2', {}, 'Health ', healthStatus), checks.node)),
      el('section', { class: 'card' }, el('h2', {}, 'Resources (live)'),
        el('div', { class: 'legend' }, SERIES.map(s => el('span', { class: `series-${s.key}` }, s.label))),
        canvas, now));

    const history = [];
    async function refresh() {
      try {
        const [appliance, health, m] = await Promise.all([get('/appliance'), get('/health'), get('/system/metrics')]);
        clear(facts,
          el('dt', {}, 'Name'), el('dd', { id: 'appliance-name' }, appliance.name),
          el('dt', {}, 'Id'), el('dd', {}, appliance.id),
          el('dt', {}, 'Role'), el('dd', {}, appliance.role),
          el('dt', {}, 'Firmware'), el('dd', { id: 'appliance-version' }, appliance.version),
          el('dt', {}, 'Up for'), el('dd', { id: 'appliance-uptime' }, fmtDuration(appliance.uptimeSeconds)),
          el('dt', {}, 'Started'), el('dd', {}, fmtTime(appliance.startedAt)));
        healthStatus.textContent = health.status;
        healthStatus.className = health.status === 'READY' ? 'pill ok' : 'pill bad';
        checks.update(health.checks);
        const memUsed = m.memoryTotalBytes ? 100 * (m.memoryTotalBytes - m.memoryAvailableBytes) / m.memoryTotalBytes : null;
        const diskUsed = m.diskTotalBytes ? 100 * (m.diskTotalBytes - m.diskUsableBytes) / m.diskTotalBytes : null;
        history.push({ cpu: m.cpuPercent, mem: memUsed, disk: diskUsed });
        while (history.length > POINTS) history.shift();
        clear(now,
          el('dt', {}, 'CPU'), el('dd', {}, m.cpuPercent === null ? '—' : `${m.cpuPercent.toFixed(1)} % of ${m.cpus} cores (load ${m.loadAverage === null ? '—' : m.loadAverage.toFixed(2)})`),
          el('dt', {}, 'Memory'), el('dd', {}, `${fmtBytes(m.memoryTotalBytes - m.memoryAvailableBytes)} used of ${fmtBytes(m.memoryTotalBytes)}; heap ${fmtBytes(m.heapUsedBytes)} of ${fmtBytes(m.heapMaxBytes)}`),
          el('dt', {}, 'Disk (data)'), el('dd', {}, `${fmtBytes(m.diskTotalBytes - m.diskUsableBytes)} used of ${fmtBytes(m.diskTotalBytes)}`));
        draw(canvas, history);
        error.textContent = '';
      } catch (e) {
        error.textContent = e.message;
      }
    }
    refresh();
    const timer = setInterval(refresh, 2000);
    return () => clearInterval(timer);
  },
});

function draw(canvas, history) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 800, height = canvas.clientHeight || 180;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  g.strokeStyle = '#e5e9ee'; g.fillStyle = '#8896a4'; g.font = '11px system-ui';
  for (const pct of [0, 25, 50, 75, 100]) {
    const y = height - 4 - (height - 8) * pct / 100;
    g.beginPath(); g.moveTo(30, y); g.lineTo(width, y); g.stroke();
    g.fillText(String(pct), 2, y + 4);
  }
  const step = (width - 30) / (POINTS - 1);
  for (const s of SERIES) {
    g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
    let started = false;
    history.forEach((point, i) => {
      const v = point[s.key];
      if (v === null || v === undefined) return;
      const x = 30 + (POINTS - history.length + i) * step, y = height - 4 - (height - 8) * Math.min(100, v) / 100;
      if (started) g.lineTo(x, y); else { g.moveTo(x, y); started = true; }
    });
    g.stroke();
  }
}
