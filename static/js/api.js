// Thin fetch wrappers around the JSON API (docs/api.md). Errors are thrown as
// Error objects whose message is already readable, so pages can show them as-is.

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

async function request(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new Error("Cannot reach the headscope server: " + e.message);
  }
  let payload = null;
  try { payload = await res.json(); } catch { /* non-JSON error page */ }
  if (!res.ok) {
    const err = new Error(detailText(res.status, payload));
    err.status = res.status;
    throw err;
  }
  return payload;
}

export const getModels = () => request("/api/models");

export const inspect = (body) => request("/api/inspect", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
