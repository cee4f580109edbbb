import { get } from '../api.js';
import { el, clear, errorLine } from '../dom.js';
import { registerPage } from '../app.js';

const MAX_LINES = 2000;

registerPage({
  id: 'logs', title: 'Log', order: 90, role: 'operator',
  render(main) {
    const error = errorLine('logs-error');
    const pre = el('pre', { class: 'log', id: 'log-lines' });
    const state = el('span', { class: 'muted', id: 'log-state' }, 'connecting…');
    let paused = false, source = null;
    const pause = el('button', { class: 'secondary', type: 'button', id: 'log-pause', onclick: () => {
      paused = !paused;
      pause.textContent = paused ? 'Resume' : 'Pause';
    } }, 'Pause');
    clear(main, el('h1', {}, 'Log'), el('div', { class: 'toolbar' }, pause,
      el('button', { class: 'secondary', type: 'button', onclick: () => clear(pre) }, 'Clear'), state), error, pre);

    function add(line) {
      if (paused) return;
      const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(document.createTextNode(line + '\n'));
      while (pre.childNodes.length > MAX_LINES) pre.firstChild.remove();
      if (stick) pre.scrollTop = pre.scrollHeight;
    }

    (async () => {
      try {
        const recent = await get('/logs?lines=200');
        recent.lines.forEach(add);
        pre.scrollTop = pre.scrollHeight;
      } catch (e) {
        error.textContent = e.message;
        return;
      }
      source = new EventSource('/api/v1/logs/stream');
      source.onopen = () => { state.textContent = 'live'; };
      source.onmessage = (event) => add(event.data);
      source.onerror = () => { state.textContent = 'reconnecting…'; };
    })();
    return () => { if (source) source.close(); };
  },
});
