// The REST client of the UI: JSON in and out, the session's CSRF token on every
// mutating request, errors as ApiError carrying the server's code, message and field.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `request failed with status ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.field = body && body.field;
  }
}

export function setCsrfToken(token) {
  csrfToken = token;
}

const listeners = [];
/** Called with no argument when the session is gone (401), so the app can show the login page. */
export function onUnauthenticated(listener) {
  listeners.push(listener);
}

export async function api(method, path, body, contentType) {
  const headers = { 'Accept': 'application/json', 'X-Requested-With': 'cairn-ui' };
  const raw = contentType !== undefined;
  if (body !== undefined) headers['Content-Type'] = raw ? contentType : 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch('/api/v1' + path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { error: 'unreachable', message: 'the appliance did not answer; is it running?' });
  }
  if (response.status === 204) return null;
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = { error: 'bad_response', message: 'the appliance sent an unreadable answer' }; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && path !== '/session') listeners.forEach(l => l());
    throw error;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);
/** POSTs a file (a Blob) as the raw request body, e.g. a bundle jar or an image archive. */
export const upload = (path, file, contentType) => api('POST', path, file, contentType);
