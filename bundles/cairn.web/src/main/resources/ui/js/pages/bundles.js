import { get, upload } from '../api.js';
import { el, clear, fmtTime, fmtBytes, sortableTable, errorLine } from '../dom.js';
import { registerPage, allowed } from '../app.js';

// Bundles and upgrades: what runs (with what a rollback would go back to), a bundle jar
// upload that shows its plan first (who restarts, whether it is a downgrade) and asks
// for confirmation or force when needed, the upgrade history with each result and its
// reason, and the firmware image slots with an image upload for the next start.

const JAR = 'application/java-archive';
const GZIP = 'application/gzip';

/** OSGi version order: major.minor.micro numerically, then the qualifier as text. */
export function compareVersions(a, b) {
  const pa = String(a || '0').split('.'), pb = String(b || '0').split('.');
  for (let i = 0; i < 3; i++) {
    const d = (Number(pa[i]) || 0) - (Number(pb[i]) || 0);
    if (d) return Math.sign(d);
  }
  const qa = pa.slice(3).join('.'), qb = pb.slice(3).join('.');
  return qa === qb ? 0 : qa < qb ? -1 : 1;
}

const outcomePill = o => el('span', { class: o === 'COMMITTED' ? 'pill ok' : 'pill bad' }, (o || '').toLowerCase().replace('_', ' '));

registerPage({
  id: 'bundles', title: 'Bundles', order: 80, role: 'viewer',
  render(main, { session }) {
    const isAdmin = allowed(session, 'admin');

    // --- installed bundles ---
    const error = errorLine('bundles-error');
    const filter = el('input', { id: 'bundles-filter', type: 'search', placeholder: 'Filter by name' });
    const table = sortableTable([
      { key: 'id', title: 'Id' },
      { key: 'symbolicName', title: 'Symbolic name' },
      { key: 'version', title: 'Version' },
      { key: 'previousVersion', title: 'Rollback to', render: b => b.previousVersion || '—' },
      { key: 'state', title: 'State', render: b => el('span', { class: b.state === 'active' ? 'pill ok' : 'pill bad' }, b.state) },
    ], { id: 'bundles-table' });
    let all = [];
    const apply = () => {
      const q = filter.value.trim().toLowerCase();
      table.update(all.filter(b => !q || (b.symbolicName || '').toLowerCase().includes(q)));
    };
    filter.addEventListener('input', apply);
    async function loadBundles() {
      try { all = await get('/upgrades/bundles'); apply(); error.textContent = ''; } catch (e) { error.textContent = e.message; }
    }

    // --- history ---
    const historyError = errorLine('upgrade-history-error');
    const history = sortableTable([
      { key: 'at', title: 'When', render: r => fmtTime(r.at) },
      { key: 'actor', title: 'Who' },
      { key: 'kind', title: 'Kind' },
      { key: 'symbolicName', title: 'Bundle' },
      { key: 'fromVersion', title: 'From', render: r => r.fromVersion || '—' },
      { key: 'toVersion', title: 'To', render: r => r.toVersion || '—' },
      { key: 'outcome', title: 'Result', render: r => outcomePill(r.outcome) },
      { key: 'durationMillis', title: 'Took', render: r => `${r.durationMillis} ms` },
      { key: 'reason', title: 'Reason', sort: false },
    ], { id: 'upgrade-history', empty: 'No upgrades yet.' });
    async function loadHistory() {
      try { history.update(await get('/upgrades?limit=50')); historyError.textContent = ''; } catch (e) { historyError.textContent = e.message; }
    }

    // --- bundle upgrade: choose a jar, see its plan, confirm or force when needed, upgrade ---
    const jarInput = el('input', { id: 'upgrade-jar', type: 'file', accept: '.jar,' + JAR });
    const force = el('input', { id: 'upgrade-force', type: 'checkbox' });
    const confirmRestart = el('input', { id: 'upgrade-confirm', type: 'checkbox' });
    const forceField = el('label', { class: 'check', id: 'upgrade-force-field', hidden: true }, force,
      ' Allow the same or a lower version (downgrade)');
    const confirmField = el('label', { class: 'check', id: 'upgrade-confirm-field', hidden: true }, confirmRestart,
      ' Restart the other bundles listed above');
    const planBox = el('div', { id: 'upgrade-plan' });
    const planError = errorLine('upgrade-error');
    const installButton = el('button', { id: 'upgrade-install', type: 'button', disabled: true }, 'Upgrade');
    const result = el('div', { id: 'upgrade-result', role: 'status' });
    let plan = null;

    const flags = () => `force=${force.checked}&confirm=${confirmRestart.checked}`;
    async function check() {
      plan = null;
      installButton.disabled = true;
      clear(planBox);
      clear(result);
      planError.textContent = '';
      const file = jarInput.files[0];
      if (!file) { planError.textContent = 'Choose a bundle jar first.'; return; }
      try {
        plan = await upload('/upgrades/plan?' + flags(), file, JAR);
      } catch (e) {
        planError.textContent = e.message;
        return;
      }
      const downgrade = compareVersions(plan.toVersion, plan.fromVersion) <= 0;
      const restarts = plan.affectedBundles || [];
      forceField.hidden = !downgrade;
      confirmField.hidden = !restarts.length;
      clear(planBox, el('dl', { class: 'facts' },
        el('dt', {}, 'Bundle'), el('dd', { id: 'upgrade-plan-bundle' }, plan.symbolicName),
        el('dt', {}, 'Version'), el('dd', { id: 'upgrade-plan-versions' }, `${plan.fromVersion} → ${plan.toVersion}`,
          downgrade ? el('span', { class: 'bad' }, ' (not higher: needs force)') : null),
        el('dt', {}, 'Signed by'), el('dd', {}, plan.signedBy || 'not signed'),
        el('dt', {}, 'Also restarts'), el('dd', { id: 'upgrade-plan-restarts' },
          restarts.length ? restarts.join(', ') : 'nothing else (only this bundle restarts)'),
        el('dt', {}, 'Problems'), el('dd', { id: 'upgrade-plan-problems', class: plan.problems.length ? 'bad' : 'ok' },
          plan.problems.length ? plan.problems.join('; ') : 'none: it may go ahead')));
      installButton.disabled = plan.problems.length > 0;
    }
    async function install() {
      const file = jarInput.files[0];
      if (!file || !plan) return;
      installButton.disabled = true;
      clear(result, el('span', { class: 'muted' }, `Upgrading ${plan.symbolicName}… waiting for it to become healthy`));
      try {
        const r = await upload('/upgrades?' + flags(), file, JAR);
        clear(result, el('p', { id: 'upgrade-outcome', class: r.outcome === 'COMMITTED' ? 'ok' : 'bad' },
          `${r.symbolicName} ${r.fromVersion} → ${r.toVersion}: ${r.outcome.toLowerCase().replace('_', ' ')}`
          + ` in ${r.durationMillis} ms; running ${r.runningVersion}.`),
          r.reason ? el('p', { id: 'upgrade-reason' }, r.reason) : null);
      } catch (e) {
        clear(result);
        planError.textContent = e.message;
      }
      plan = null;
      await Promise.all([loadBundles(), loadHistory()]);
    }
    jarInput.addEventListener('change', check);
    force.addEventListener('change', check);
    confirmRestart.addEventListener('change', check);
    installButton.addEventListener('click', install);
    const upgradeCard = el('section', { class: 'card', id: 'upgrade-card' }, el('h2', {}, 'Upgrade a bundle'),
      el('p', { class: 'muted' }, 'The jar is checked first; the upgrade is committed once the new bundle is healthy, '
        + 'else the previous jar is restored automatically.'),
      el('div', { class: 'toolbar' }, jarInput,
        el('button', { class: 'secondary', type: 'button', id: 'upgrade-check', onclick: check }, 'Check again')),
      planBox, forceField, confirmField, el('div', { class: 'toolbar' }, installButton), planError, result);

    // --- firmware image slots ---
    const slotsBox = el('div', { id: 'image-slots' });
    const slotsError = errorLine('image-slots-error');
    async function loadSlots() {
      try {
        const s = await get('/upgrades/images');
        const slot = name => {
          const tags = [];
          if (name === s.running) tags.push('running');
          if (name === s.active) tags.push('active');
          if (name === s.pending) tags.push('pending: boots on trial at the next start');
          if (name === s.trial) tags.push('on trial');
          return el('dd', { id: 'image-slot-' + name }, s.versions[name] || 'empty',
            tags.length ? el('span', { class: 'muted' }, ` (${tags.join(', ')})`) : null,
            s.bad[name] ? el('div', { class: 'bad' }, 'bad: ' + s.bad[name]) : null);
        };
        clear(slotsBox, el('dl', { class: 'facts' },
          el('dt', {}, 'Running'), el('dd', { id: 'image-running' }, `${s.runningVersion || 'unknown'} from slot ${s.running || '?'}`),
          el('dt', {}, 'Slot a'), slot('a'), el('dt', {}, 'Slot b'), slot('b')));
        slotsError.textContent = '';
      } catch (e) { slotsError.textContent = e.message; }
    }
    const imageInput = el('input', { id: 'image-file', type: 'file', accept: '.tar.gz,.tgz,' + GZIP });
    const imageError = errorLine('image-error');
    const imageResult = el('div', { id: 'image-result', role: 'status' });
    const stageButton = el('button', { id: 'image-stage', type: 'button' }, 'Stage image');
    stageButton.addEventListener('click', async () => {
      const file = imageInput.files[0];
      imageError.textContent = '';
      clear(imageResult);
      if (!file) { imageError.textContent = 'Choose an image .tar.gz first.'; return; }
      if (!window.confirm(`Stage ${file.name} (${fmtBytes(file.size)}) in the inactive slot? It boots on trial at the next start.`)) return;
      stageButton.disabled = true;
      clear(imageResult, el('span', { class: 'muted' }, 'Uploading and checking the image…'));
      try {
        const r = await upload('/upgrades/images', file, GZIP);
        clear(imageResult, el('p', { class: 'ok', id: 'image-staged' },
          `Image ${r.version} (${r.role}) staged in slot ${r.slot}; it takes effect ${r.takesEffect}.`));
      } catch (e) {
        clear(imageResult);
        imageError.textContent = e.message;
      } finally {
        stageButton.disabled = false;
      }
      await loadSlots();
    });
    const imageCard = el('section', { class: 'card', id: 'image-card' }, el('h2', {}, 'Firmware image'),
      slotsError, slotsBox,
      isAdmin ? [el('div', { class: 'toolbar' }, imageInput, stageButton), imageError, imageResult] : null);

    clear(main, el('h1', {}, 'Bundles'),
      el('section', { class: 'card' }, el('h2', {}, 'Installed bundles'),
        el('div', { class: 'toolbar' }, filter,
          el('button', { class: 'secondary', type: 'button', onclick: () => { loadBundles(); loadHistory(); loadSlots(); } }, 'Refresh')),
        error, table.node),
      isAdmin ? upgradeCard : null,
      el('section', { class: 'card' }, el('h2', {}, 'Upgrade history'), historyError, history.node),
      imageCard);
    loadBundles();
    loadHistory();
    loadSlots();
  },
});
