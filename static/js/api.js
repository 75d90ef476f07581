// The JSON API (docs/reference/api.md) as functions. Every request goes through request.js (JSON
// bodies, same-origin cookies, the CSRF header on writes, readable Error messages), which is
// re-exported here so that pages need one import.

import { request, detailText, errorText } from "./request.js";

export { request, detailText, errorText };

export const getModels = () => request("/api/models");

export const inspect = (body) => request("/api/inspect", { method: "POST", body });
