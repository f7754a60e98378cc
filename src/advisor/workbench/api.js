// The HTTP API of the same origin: the bearer token (kept in sessionStorage) and the error shape.

const TOKEN_KEY = "advisor-token";

/** An answer of the API that is not 2xx: its status and its `{"error": {...}}` body. */
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.problems = Array.isArray(err.problems) ? err.problems : [];
  }
}

let onUnauthorised = () => {};

/** Called with the error when the API answers 401 (the page then asks for the token). */
export function whenUnauthorised(callback) {
  onUnauthorised = callback;
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(json) {
  const out = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) out.Authorization = `Bearer ${token}`;
  if (json) out["Content-Type"] = "application/json";
  return out;
}

function url(path, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== false && v !== "") query.set(k, String(v));
  }
  const q = query.toString();
  return q ? `${path}?${q}` : path;
}

async function send(method, path, params, body) {
  let response;
  try {
    response = await fetch(url(path, params), {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (exc) {
    const err = new ApiError(0, { error: { message: String(exc && exc.message ? exc.message : exc) } });
    err.network = true;
    throw err;
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    const err = new ApiError(response.status, data);
    if (response.status === 401) onUnauthorised(err);
    throw err;
  }
  return response;
}

/** GET a JSON answer. */
export async function getJson(path, params) {
  return (await send("GET", path, params)).json();
}

/** POST a descriptor, answer as JSON. */
export async function postJson(path, params, body) {
  return (await send("POST", path, params, body)).json();
}

/** POST a descriptor, answer as a file: {blob, name}. */
export async function postFile(path, params, body) {
  const response = await send("POST", path, params, body);
  const disposition = response.headers.get("Content-Disposition") || "";
  const found = /filename="?([^";]+)"?/.exec(disposition);
  return { blob: await response.blob(), name: found ? found[1] : "advisor-output" };
}
