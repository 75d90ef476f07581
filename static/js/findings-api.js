// The findings API (docs/reference/findings-api.md) as functions, over the one request path
// (request.js: writes carry the X-CSRF-Token header the server wants when accounts are on).

import { request } from "./request.js";

const id = (x) => encodeURIComponent(x);

/** GET /api/findings with filters {model, layer, head, label, author, q, limit, offset}; empty values are dropped. */
export function listFindings(filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters || {})) if (v !== "" && v != null) q.set(k, v);
  return request("/api/findings?" + q.toString());
}
export const getFinding = (fid) => request(`/api/findings/${id(fid)}`);
export const createFinding = (body) => request("/api/findings", { method: "POST", body });
export const updateFinding = (fid, body) => request(`/api/findings/${id(fid)}`, { method: "PATCH", body });
export const deleteFinding = (fid) => request(`/api/findings/${id(fid)}`, { method: "DELETE" });
export const makePublicLink = (fid) => request(`/api/findings/${id(fid)}/public-link`, { method: "POST" });
export const revokePublicLink = (fid) => request(`/api/findings/${id(fid)}/public-link`, { method: "DELETE" });
export const login = (name, password) => request("/api/auth/login", { method: "POST", body: { name, password } });
export const me = () => request("/api/auth/me");
export const logout = () => request("/api/auth/logout", { method: "POST" });
