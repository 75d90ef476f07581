// Fetch wrappers for the findings API (docs/findings-api.md). Writes carry the
// X-CSRF-Token header copied from the `headscope_csrf` cookie: when auth is on, the server
// refuses cookie-authenticated writes without it; when auth is off it is ignored.

import { detailText } from "./api.js";

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)headscope_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function call(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  let res;
  try {
    res = await fetch(url, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error("Cannot reach the headscope server: " + e.message);
  }
  let payload = null;
  try { payload = res.status === 204 ? null : await res.json(); } catch { /* empty or non-JSON */ }
  if (!res.ok) {
    const err = new Error(detailText(res.status, payload));
    err.status = res.status;
    throw err;
  }
  return payload;
}

const id = (x) => encodeURIComponent(x);

/** GET /api/findings with filters {model, layer, head, label, author, q, limit, offset}; empty values are dropped. */
export function listFindings(filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters || {})) if (v !== "" && v != null) q.set(k, v);
  return call("GET", "/api/findings?" + q.toString());
}
export const getFinding = (fid) => call("GET", `/api/findings/${id(fid)}`);
export const createFinding = (body) => call("POST", "/api/findings", body);
export const updateFinding = (fid, body) => call("PATCH", `/api/findings/${id(fid)}`, body);
export const deleteFinding = (fid) => call("DELETE", `/api/findings/${id(fid)}`);
export const makePublicLink = (fid) => call("POST", `/api/findings/${id(fid)}/public-link`);
export const revokePublicLink = (fid) => call("DELETE", `/api/findings/${id(fid)}/public-link`);
export const me = () => call("GET", "/api/auth/me");
export const logout = () => call("POST", "/api/auth/logout");
