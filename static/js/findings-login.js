// The /login page: POST /api/auth/login sets the session and CSRF cookies, then
// back to where the visitor came from (a local path, checked by the server).

import { detailText } from "./api.js";
import { logout } from "./findings-api.js";

const $ = (id) => document.getElementById(id);

function showError(msg) {
  $("error-box").textContent = msg;
  $("error-box").hidden = false;
}

$("login-form")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-button").disabled = true;
  try {
    const res = await fetch("/api/auth/login", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: $("login-name").value.trim(), password: $("login-password").value }),
    });
    let payload = null;
    try { payload = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) throw new Error(detailText(res.status, payload));
    location.assign(e.target.dataset.next || "/findings");
  } catch (ex) {
    showError(ex.message);
  } finally {
    $("login-button").disabled = false;
  }
});

$("logout-button")?.addEventListener("click", async () => {
  try {
    await logout();
    location.reload();
  } catch (ex) {
    showError(ex.message);
  }
});
