// The one request path of every page (docs/reference/api.md, docs/reference/findings-api.md): JSON in and out,
// same-origin cookies, and on every write the X-CSRF-Token header copied from the
// `headscope_csrf` cookie. With accounts on (HEADSCOPE_AUTH_ENABLED=true) the server refuses
// cookie-authenticated writes without that header; with accounts off it is ignored.
// Errors are thrown as Error objects whose message is already readable (pages show them
// as-is), with `status` (HTTP status, 0 when the server could not be reached) and `payload`.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Generations of one kind of request on a page, so that a late answer to an older request never
 *  overwrites a newer one's: `const mine = loads.start();` ... `if (!loads.isNewest(mine)) return;`. */
export function generations() {
  let newest = 0;
  return { start: () => ++newest, isNewest: (generation) => generation === newest };
}
const CSRF_COOKIE = "headscope_csrf";

/** Turn a FastAPI error payload into one line of text. `detail` is either a
 *  string or a list of {loc, msg} (422 validation errors). */
export function detailText(status, payload) {
  const d = payload && payload.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d.map((e) => {
      const loc = Array.isArray(e.loc) ? e.loc.filter((p) => p !== "body").join(".") : "";
      return (loc ? loc + ": " : "") + (e.msg ?? JSON.stringify(e));
    }).join("; ");
  }
  if (d) return JSON.stringify(d);
  return `Request failed (HTTP ${status})`;
}

/** The error text of a refused request: the detail, then what the server accepts, if it says. */
export function errorText(status, payload) {
  const msg = detailText(status, payload);
  return payload && Array.isArray(payload.accepted) ? msg + "\nAccepted: " + payload.accepted.join("; ") : msg;
}

/** The CSRF token the server set at login ("" when there is none: accounts off, or not logged in). */
export function csrfToken() {
  const m = document.cookie.match(new RegExp(`(?:^|;\\s*)${CSRF_COOKIE}=([^;]*)`));
  return m ? decodeURIComponent(m[1]) : "";
}

const passThrough = (body) => typeof body === "string" || body instanceof FormData || body instanceof Blob ||
  body instanceof URLSearchParams || body instanceof ArrayBuffer;

/**
 * request(url, {method = "GET", body, headers, signal, ...fetch options}) -> the JSON answer
 * (null for 204 or an empty body). A plain-object `body` is sent as JSON.
 */
export async function request(url, { method = "GET", body, headers, ...init } = {}) {
  method = method.toUpperCase();
  const h = { Accept: "application/json", ...(headers || {}) };
  if (body !== undefined && !passThrough(body)) {
    body = JSON.stringify(body);
    h["Content-Type"] = h["Content-Type"] || "application/json";
  }
  if (!SAFE_METHODS.has(method)) {
    const token = csrfToken();
    if (token) h["X-CSRF-Token"] = token;
  }
  let res;
  try {
    res = await fetch(url, { ...init, method, headers: h, body, credentials: "same-origin" });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    const err = new Error("Cannot reach the headscope server: " + e.message);
    err.status = 0;
    throw err;
  }
  let payload = null;
  if (res.status !== 204) {
    try { payload = await res.json(); } catch { /* empty or a non-JSON error page */ }
  }
  if (!res.ok) {
    const err = new Error(errorText(res.status, payload));
    err.status = res.status;
    err.payload = payload;
    throw err;
  }
  return payload;
}
