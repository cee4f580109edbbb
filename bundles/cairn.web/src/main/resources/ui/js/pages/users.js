import { get, post, put, del } from '../api.js';
import { el, clear, fmtTime, sortableTable, validatedForm, errorLine } from '../dom.js';
import { registerPage } from '../app.js';

const NAME = '[a-z][a-z0-9._-]{0,31}';
const NAME_HINT = "1-32 lower-case letters, digits, '.', '_' or '-', starting with a letter";

registerPage({
  id: 'users', title: 'Users & tokens', order: 70, role: 'viewer',
  render(main, { session, endSession }) {
    const isAdmin = session.role === 'admin';
    const usersError = errorLine('users-error');
    const users = sortableTable([
      { key: 'name', title: 'Name' },
      { key: 'account', title: 'Account' },
      { key: 'role', title: 'Role' },
      { key: 'createdAt', title: 'Created', render: u => fmtTime(u.createdAt) },
      { key: 'passwordChangedAt', title: 'Password changed', render: u => fmtTime(u.passwordChangedAt) },
      { key: 'actions', title: '', sort: false, render: u => isAdmin && u.name !== session.user
          ? el('button', { class: 'danger', type: 'button', 'data-user': u.name, onclick: () => removeUser(u.name) }, 'Remove') : null },
    ], { id: 'users-table' });

    const createUser = validatedForm({
      id: 'create-user',
      fields: [
        { name: 'name', label: 'Name', required: true, pattern: NAME, hint: NAME_HINT },
        { name: 'password', label: 'Password', type: 'password', required: true, minLength: 12, autocomplete: 'new-password' },
        { name: 'role', label: 'Role', options: ['viewer', 'operator', 'admin'] },
        { name: 'account', label: 'Account', placeholder: 'default', pattern: '[a-z][a-z0-9._-]{0,63}', hint: 'lower-case letters, digits, . _ -' },
      ],
      submitLabel: 'Create user',
      onSubmit: async (v, form) => {
        await post('/users', { name: v.name, password: v.password, role: v.role, account: v.account || null });
        createUser.reset();
        loadUsers();
      },
    });

    const password = validatedForm({
      id: 'change-password',
      fields: [
        { name: 'currentPassword', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' },
        { name: 'newPassword', label: 'New password', type: 'password', required: true, minLength: 12, autocomplete: 'new-password' },
        { name: 'repeat', label: 'Repeat new password', type: 'password', required: true,
          check: (value, values) => value !== values.newPassword ? 'the passwords differ' : null },
      ],
      submitLabel: 'Change password',
      onSubmit: async (v) => {
        await put('/users/' + encodeURIComponent(session.user) + '/password',
          { currentPassword: v.currentPassword, newPassword: v.newPassword });
        // every session opened before the change has ended, this one too
        endSession('Your password was changed. Log in with the new one.');
      },
    });

    const tokensError = errorLine('tokens-error');
    const tokens = sortableTable([
      { key: 'name', title: 'Name' },
      { key: 'owner', title: 'Owner' },
      { key: 'id', title: 'Id' },
      { key: 'createdAt', title: 'Created', render: t => fmtTime(t.createdAt) },
      { key: 'expiresAt', title: 'Expires', render: t => t.expiresAt ? fmtTime(t.expiresAt) : 'never' },
      { key: 'lastUsedAt', title: 'Last used', render: t => fmtTime(t.lastUsedAt) },
      { key: 'actions', title: '', sort: false, render: t =>
          el('button', { class: 'danger', type: 'button', onclick: () => revoke(t) }, 'Revoke') },
    ], { id: 'tokens-table', empty: 'No tokens.' });
    const secret = el('div', { id: 'token-secret' });
    const createToken = validatedForm({
      id: 'create-token',
      fields: [
        { name: 'name', label: 'Token name', required: true, check: v => v.length > 128 ? 'at most 128 characters' : null },
        { name: 'lifetimeDays', label: 'Lifetime (days, empty: no expiry)', pattern: '[0-9]{1,4}', hint: 'a number of days, 1-3650' },
      ],
      submitLabel: 'Create token',
      onSubmit: async (v) => {
        const issued = await post('/tokens', { name: v.name, lifetimeDays: v.lifetimeDays ? Number(v.lifetimeDays) : null });
        createToken.reset();
        clear(secret, el('p', {}, 'Copy the secret of ', el('strong', {}, issued.token.name),
          ' now; it is not shown again. Use it as: Authorization: Bearer <secret>'),
          el('div', { class: 'secret', id: 'token-secret-value' }, issued.secret));
        loadTokens();
      },
    });

    const keysError = errorLine('keys-error');
    const keys = sortableTable([
      { key: 'type', title: 'Type' },
      { key: 'fingerprint', title: 'Fingerprint' },
      { key: 'comment', title: 'Comment' },
      { key: 'addedAt', title: 'Added', render: k => fmtTime(k.addedAt) },
      { key: 'actions', title: '', sort: false, render: k =>
          el('button', { class: 'danger', type: 'button', onclick: () => removeKey(k) }, 'Remove') },
    ], { id: 'keys-table', empty: 'No SSH keys.' });
    const addKey = validatedForm({
      id: 'add-key',
      fields: [{ name: 'publicKey', label: 'Public key (one line of a .pub file)', required: true,
        pattern: '(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?', hint: 'a line such as: ssh-ed25519 AAAA… you@host' }],
      submitLabel: 'Add key',
      onSubmit: async (v) => {
        await post('/users/' + encodeURIComponent(session.user) + '/keys', { publicKey: v.publicKey.trim() });
        addKey.reset();
        loadKeys();
      },
    });

    clear(main, el('h1', {}, 'Users & tokens'),
      el('section', { class: 'card' }, el('h2', {}, isAdmin ? 'Users' : 'Users of your account'), usersError, users.node,
        isAdmin ? [el('h2', {}, 'New user'), createUser.node] : null),
      el('section', { class: 'card' }, el('h2', {}, `API tokens${isAdmin ? '' : ' (yours)'}`), tokensError, tokens.node,
        el('h2', {}, 'New token for you'), createToken.node, secret),
      el('section', { class: 'card' }, el('h2', {}, 'Your SSH keys'), keysError, keys.node, addKey.node),
      el('section', { class: 'card' }, el('h2', {}, 'Your password'), password.node));

    async function loadUsers() {
      try { users.update(await get('/users')); usersError.textContent = ''; } catch (e) { usersError.textContent = e.message; }
    }
    async function loadTokens() {
      try { tokens.update(await get('/tokens')); tokensError.textContent = ''; } catch (e) { tokensError.textContent = e.message; }
    }
    async function loadKeys() {
      try { keys.update(await get('/users/' + encodeURIComponent(session.user) + '/keys')); keysError.textContent = ''; }
      catch (e) { keysError.textContent = e.message; }
    }
    async function removeUser(name) {
      if (!confirm(`Remove user ${name} with its tokens and keys?`)) return;
      try { await del('/users/' + encodeURIComponent(name)); loadUsers(); loadTokens(); } catch (e) { usersError.textContent = e.message; }
    }
    async function revoke(t) {
      if (!confirm(`Revoke token ${t.name}? Scripts using it stop working.`)) return;
      try { await del('/tokens/' + encodeURIComponent(t.id)); loadTokens(); } catch (e) { tokensError.textContent = e.message; }
    }
    async function removeKey(k) {
      if (!confirm(`Remove SSH key ${k.fingerprint}?`)) return;
      try {
        await del('/users/' + encodeURIComponent(session.user) + '/keys?fingerprint=' + encodeURIComponent(k.fingerprint));
        loadKeys();
      } catch (e) { keysError.textContent = e.message; }
    }
    loadUsers();
    loadTokens();
    loadKeys();
  },
});
