// The /login page: POST /api/auth/login sets the session and CSRF cookies, then
// back to where the visitor came from (a local path, checked by the server).

import { login, logout } from "./findings-api.js";
import { $, showError } from "./dom.js";

$("login-form")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-button").disabled = true;
  try {
    await login($("login-name").value.trim(), $("login-password").value);
    location.assign(e.target.dataset.next || "/findings");
  } catch (ex) {
    showError("error-box", ex.message);
  } finally {
    $("login-button").disabled = false;
  }
});

$("logout-button")?.addEventListener("click", async () => {
  try {
    await logout();
    location.reload();
  } catch (ex) {
    showError("error-box", ex.message);
  }
});

// Until this module has run, a submit would be the browser's own GET (the password in the URL).
document.body.dataset.ready = "1";
