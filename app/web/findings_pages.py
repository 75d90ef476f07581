"""Findings pages: the list, a finding, the /f/<id> permalink, the public /p/<token> page, HTML export.

These routes read findings through the findings JSON API (docs/reference/findings-api.md), called
in-process as the visitor (their cookie / Authorization header is passed on). So the pages
see exactly what the API lets that visitor see, permissions included, and do not depend on
how the store is built.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import __version__
from app.web.attribution_service import attribution_query
from app.web.export import build_export_html, export_filename, finding_context, json_for_script
from app.web.finding_interventions import intervention_query
from app.web.pages import templates

router = APIRouter(include_in_schema=False)

# Scripts only from this server, no plugins, no inline handlers: a note that slipped past the
# sanitiser still cannot run. Inline style attributes are what the head view sets on tokens.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)
FORWARDED_HEADERS = ("cookie", "authorization")
LIST_FILTERS = ("ids", "model", "layer", "head", "label", "tag", "author", "q", "visibility", "mine")


class ApiAnswer:
    def __init__(self, status: int, body: Any):
        self.status, self.body = status, body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def message(self) -> str:
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        if isinstance(detail, list):  # 422: [{"loc": [...], "msg": ...}]
            return "; ".join(".".join(str(p) for p in d.get("loc", [])[1:]) + ": " + str(d.get("msg")) for d in detail)
        return str(detail or f"the findings API answered HTTP {self.status}")


async def api_get(request: Request, path: str, params: dict | None = None) -> ApiAnswer:
    """GET an API route of this app in-process, as the visitor of `request`."""
    headers = {name: value for name in FORWARDED_HEADERS if (value := request.headers.get(name))}
    headers["accept-encoding"] = "identity"  # in-process: gzip would only be undone again
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url).rstrip("/")) as client:
        response = await client.get(path, params=params, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = None
    return ApiAnswer(response.status_code, body)


def local_path(value: str | None, default: str = "/findings") -> str:
    """A redirect target that stays on this server: a path, not "//host" or "https://host"."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


def error_page(request: Request, answer: ApiAnswer, what: str) -> HTMLResponse:
    status = answer.status if answer.status >= 400 else 502
    hint = {401: "Log in to see it.", 403: "You may not see it.", 404: "It does not exist or is not shared with you."}
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = templates.TemplateResponse(
        request,
        "findings_error.html",
        {
            "title": f"{what}: error {status}",
            "version": __version__,
            "status": status,
            "message": answer.message(),
            "hint": hint.get(status, ""),
            "what": what,
            "login_url": "/login?" + urlencode({"next": here}) if status == 401 else None,
        },
        status_code=status,
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def tagged_text(text: str, e1: Any, e2: Any) -> str:
    """Plain text with RE entity spans -> the <e1>…</e1> <e2>…</e2> form the inspect page takes."""
    spans = [(s, "e1") for s in [e1] if s] + [(s, "e2") for s in [e2] if s]
    for (start, end), tag in sorted(spans, key=lambda x: -x[0][0]):  # from the right: offsets stay valid
        text = f"{text[:start]}<{tag}>{text[start:end]}</{tag}>{text[end:]}"
    return text


def inspect_query(finding: dict) -> str:
    """The /inspect query string (static/js/state.js) that reopens the finding's view:
    the inverse of static/js/findings-state.js viewFromState/inputFromState."""
    model = finding.get("model") or {}
    model_id = model if isinstance(model, str) else model.get("id") or ""
    inp = finding.get("input") or {}
    view = finding.get("view") or {}
    filters = view.get("filters")
    if not isinstance(filters, dict):
        filters = {}
    text = inp.get("text") or ""
    if inp.get("e1_span") or inp.get("e2_span"):
        text = tagged_text(text, inp.get("e1_span"), inp.get("e2_span"))
    q: dict[str, Any] = {"model": model_id, "text": text}
    if inp.get("aspect"):
        q["aspect"] = inp["aspect"]
    layer = _int(view.get("layer"))
    heads = view.get("heads") if isinstance(view.get("heads"), list) else None
    pairs = [h for h in heads or [] if isinstance(h, list) and len(h) == 2 and all(_int(x) is not None for x in h)]
    if layer is None and pairs:
        layer = pairs[0][0]
    layer = layer or 0
    kind = view.get("kind")
    q["view"] = "model" if kind == "model" else "head"
    q["layer"] = layer
    if heads is not None:
        plain = [h for h in heads if _int(h) is not None] + [h for l, h in pairs if l == layer]
        q["heads"] = ",".join(str(h) for h in sorted(set(plain)))
    if kind == "model" and pairs:
        q["hm_layer"], q["hm_head"] = pairs[0]
    q["filter"] = filters.get("pair") if filters.get("pair") in ("all", "ab", "ba", "aa", "bb") else "all"
    q["hide_special"] = "1" if filters.get("hide_special") else "0"
    threshold = view.get("threshold")
    if isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
        q["mass"] = max(1, min(100, round(threshold * 100 if threshold <= 1 else threshold)))
    token = _int(view.get("token"))
    q["token"] = "" if token is None else token
    if token is not None and (view.get("token_side") or filters.get("side")) == "right":
        q["side"] = "right"
    q["word"] = "1" if view.get("word_mode") else "0"
    q.update(attribution_query(finding.get("snapshot")))  # the attribution the finding was saved with
    q.update(intervention_query(finding))  # the heads it was saved with switched off
    return urlencode(q, quote_via=quote)


def live_path(finding: dict) -> str:
    """The live page that reopens a finding: /compare with its saved URL state for compare views, else /inspect."""
    view = finding.get("view") or {}
    url = view.get("url") if view.get("kind") == "compare" else None
    if isinstance(url, str) and url.startswith("/compare?") and "//" not in url and "\\" not in url:
        return url
    return "/inspect?" + inspect_query(finding)


def html_page(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {"version": __version__, **context}, status_code=status_code)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def download(findings: list[dict], title: str | None = None) -> Response:
    html = build_export_html(findings, title)
    disposition = f'attachment; filename="{export_filename(findings)}"'
    return Response(html, media_type="text/html; charset=utf-8", headers={"Content-Disposition": disposition})


# ---- routes (the fixed paths before /findings/{finding_id}) ----


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    # The login form for servers with HEADSCOPE_AUTH_ENABLED=true (the API is /api/auth/login).
    settings = request.app.state.settings
    me = await api_get(request, "/api/auth/me") if settings.auth_enabled else ApiAnswer(401, None)
    return html_page(
        request,
        "findings_login.html",
        {
            "title": "Log in",
            "auth_enabled": settings.auth_enabled,
            "next": local_path(next),
            "user": me.body if me.ok and isinstance(me.body, dict) else None,
        },
    )


@router.get("/findings")
def findings_list(request: Request) -> HTMLResponse:
    # The list is filled by static/js/findings-list.js from GET /api/findings (filters in the URL).
    return html_page(request, "findings.html", {"title": "Findings"})


@router.get("/findings/export.html")
async def export_report(request: Request, title: str | None = None) -> Response:
    """A report: every finding the list filters (or ?ids=a,b) select, as one HTML file."""
    params = {k: v for k, v in request.query_params.items() if k in LIST_FILTERS and v != ""}
    answer = await api_get(request, "/api/findings/export", params)
    if not answer.ok:
        return error_page(request, answer, "Export")
    findings = answer.body.get("findings") or []
    if not findings:
        return error_page(
            request, ApiAnswer(404, {"detail": "no findings match these filters: nothing to export"}), "Export"
        )
    return download(findings, title or None)


async def served_context(request: Request, finding: dict) -> dict:
    """finding_context for a served page, with the server's untrained warning for its checkpoint (GET /api/models):
    a finding saved from a pretrained baseline shows near-random predictions, and says so beside them."""
    context = finding_context(finding, 0, live=True)
    models = await api_get(request, "/api/models")
    listed = models.body.get("models", []) if models.ok and isinstance(models.body, dict) else []
    context["untrained"] = next((m.get("untrained") for m in listed if m.get("id") == context["model"].get("id")), None)
    return context


async def finding_html(request: Request, finding: dict, **page: Any) -> HTMLResponse:
    """finding.html for one finding (its title, served figures and data for the scripts) and the `page`'s own
    entries: whether it is the public page, whether the viewer can edit, its links."""
    context = {
        "title": finding.get("title") or "Finding",
        "f": await served_context(request, finding),
        "data": json_for_script([finding]),
    }
    return html_page(request, "finding.html", {**context, **page})


async def export_download(request: Request, api: str) -> Response:
    """The offline HTML of the finding the API path answers with, or the error page."""
    answer = await api_get(request, api)
    if not answer.ok:
        return error_page(request, answer, "Export")
    return download([answer.body])


@router.get("/findings/{finding_id}")
async def finding_page(request: Request, finding_id: str) -> HTMLResponse:
    answer = await api_get(request, f"/api/findings/{quote(finding_id, safe='')}")
    if not answer.ok:
        return error_page(request, answer, "Finding")
    finding = answer.body
    me = await api_get(request, "/api/auth/me")
    user = me.body if me.ok and isinstance(me.body, dict) else {}
    can_edit = bool(user) and (user.get("is_admin") or user.get("name") == finding.get("author"))
    token = finding.get("public_token")
    return await finding_html(
        request,
        finding,
        public=False,
        can_edit=can_edit,
        live_url="/f/" + quote(finding_id, safe=""),
        export_url=f"/findings/{quote(finding_id, safe='')}/export.html",
        public_url=str(request.base_url).rstrip("/") + "/p/" + quote(token, safe="") if token else None,
    )


@router.get("/findings/{finding_id}/export.html")
async def export_finding(request: Request, finding_id: str) -> Response:
    return await export_download(request, f"/api/findings/{quote(finding_id, safe='')}")


@router.get("/f/{finding_id}")
async def permalink(request: Request, finding_id: str) -> Response:
    """Reopen the exact live view: /inspect with the URL state the finding's view and input encode."""
    answer = await api_get(request, f"/api/findings/{quote(finding_id, safe='')}")
    if not answer.ok:
        return error_page(request, answer, "Finding")
    return RedirectResponse(live_path(answer.body), status_code=303)


@router.get("/p/{token}")
async def public_page(request: Request, token: str) -> HTMLResponse:
    answer = await api_get(request, f"/api/public/{quote(token, safe='')}")
    if not answer.ok:
        return error_page(request, answer, "Public finding")
    finding = answer.body
    return await finding_html(
        request,
        finding,
        public=True,
        can_edit=False,
        live_url=live_path(finding),  # /inspect needs no account, so the public page links the live view directly
        export_url=f"/p/{quote(token, safe='')}/export.html",
        public_url=None,
    )


@router.get("/p/{token}/export.html")
async def export_public(request: Request, token: str) -> Response:
    return await export_download(request, f"/api/public/{quote(token, safe='')}")
