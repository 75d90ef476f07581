"""Findings in Debian's headless Chromium against a running uvicorn (auth off: the local user).

Save from the head and model views, the list, the permalink, the finding page (edit, public link,
delete), the offline HTML export opened from file:// with every request blocked, hostile notes
and titles, and the PNG/SVG downloads. Pages may only talk to 127.0.0.1; exported files to nothing.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from browser_support import PASSWORDS, VIEWPORT, guarded_page, on_this_machine, query  # tests/ is on sys.path

pytestmark = pytest.mark.browser
REVIEW = "The pasta was great but the waiter was rude."
MODEL = "demo-absa-qa-m"
HOSTILE_TITLE = 'Title <script>window.__xss="title"</script><img src=x onerror="window.__xss=\'title-img\'">'
HOSTILE_NOTE = (
    'Note <script>window.__xss="script"</script>\n\n<img src=x onerror="window.__xss=\'img\'">\n\n'
    '[click me](javascript:window.__xss="link") and <a href="javascript:window.__xss=\'a\'">raw link</a>'
)


@pytest.fixture
def page(browser, server):
    with guarded_page(browser, accept_downloads=True) as (page, offsite):
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.base = server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"
    assert errors == [], f"script errors on the page: {errors}"


@pytest.fixture
def offline_page(browser):
    """A page that may load file:// URLs only: every other request is blocked and recorded."""
    with guarded_page(browser, lambda url: url.startswith("file://"), accept_downloads=True) as (page, requested):
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
    assert requested == [], f"the exported file tried to reach the network: {requested}"
    assert errors == [], f"script errors in the exported file: {errors}"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def create(server: str, **body) -> dict:
    """A finding through the API (the server computes the snapshot unless one is given)."""
    payload = {
        "title": unique("api finding"),
        "model": MODEL,
        "input": {"text": REVIEW, "aspect": "service"},
        "view": {"kind": "head", "layer": 2, "heads": [0, 3, 7]},
        **body,
    }
    response = httpx.post(server + "/api/findings", json=payload, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()


def open_inspect(page, layer: int, heads: str) -> None:
    page.goto(f"{page.base}/inspect?model={MODEL}&text={REVIEW}&aspect=service&layer={layer}&heads={heads}")
    page.wait_for_function("() => window.headscope && window.headscope.edgesDrawn > 0")
    page.wait_for_function("() => document.getElementById('headview-canvas').dataset.painted === '1'")


def save_from(page, button: str, title: str, note: str = "", labels=("aspect",), tags: str = "") -> dict:
    page.click(button)
    page.wait_for_selector("#finding-dialog[open]")
    page.fill("#finding-title", title)
    page.fill("#finding-note", note)
    for label in labels:
        page.check(f"#finding-dialog input[name=labels][value='{label}']")
    page.fill("#finding-tags", tags)
    page.click("#finding-submit")
    page.wait_for_selector("#finding-saved:not([hidden])", timeout=30_000)
    return page.evaluate("window.headscope.lastFinding")


def heads_on(page, scope: str = "") -> list[int]:
    return sorted(
        int(x)
        for x in page.eval_on_selector_all(f"{scope} .head-toggle:not(.off)", "els => els.map(e => e.dataset.head)")
    )


def wait_complete(page, canvas: str) -> str:
    """The canvas once every band is painted, as a data URL (for before/after comparisons)."""
    page.wait_for_function(f"() => document.querySelector({canvas!r}).dataset.complete === '1'")
    return page.eval_on_selector(canvas, "c => c.toDataURL()")


def test_save_from_head_view_list_and_permalink(page):
    open_inspect(page, 3, "1,4")
    page.click("#tokens-right .token[data-index='7']")  # pin a key token: part of the view state
    page.wait_for_function("() => new URLSearchParams(location.search).get('side') === 'right'")
    title = unique("Head 3.4 follows the aspect")
    finding = save_from(
        page, "#save-finding-head", title, "The head **ignores** [SEP].", ("aspect", "noop"), "pasta, run-1"
    )
    assert finding["view"]["kind"] == "head" and finding["view"]["layer"] == 3 and finding["view"]["heads"] == [1, 4]
    assert finding["view"]["token"] == 7 and finding["view"]["token_side"] == "right"
    assert finding["labels"] == ["aspect", "noop"] and finding["tags"] == ["pasta", "run-1"]
    # the dialog reads "no-op" like the analysis; the stored value stays "noop"
    noop_box = "#finding-dialog label.check:has(input[name=labels][value='noop'])"
    assert page.text_content(noop_box).strip() == "no-op"
    assert list(finding["snapshot"]["attention"]["layers"]) == ["3"]  # the page's own data, cut to the shown layer

    # it is listed, and the text filter finds it
    page.goto(page.base + "/findings")
    page.wait_for_function("() => document.body.dataset.ready === '1'")  # the page's own first list has come
    page.fill("#f-q", title)
    page.click("#f-apply")
    page.wait_for_function(
        "t => new URLSearchParams(location.search).get('q') === t "
        "&& document.querySelectorAll('#findings-rows tr').length === 1",
        arg=title,
    )
    assert page.text_content("#findings-rows .finding-link") == title
    # heads written "layer.head" like every other page, labels as the analysis names them
    view_cell = page.text_content("#findings-rows tr td:nth-child(3)")
    assert "3.1, 3.4" in view_cell and "H 3.4" not in view_cell and "H 1" not in view_cell
    assert page.text_content("#findings-rows tr td:nth-child(4)").count("no-op") == 1
    assert "no-op" in page.inner_text("#f-label")
    page.click("#findings-rows .finding-link")
    page.wait_for_url(f"**/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.text_content("h1.finding-title") == title
    assert page.inner_html(".note").count("<strong>ignores</strong>") == 1
    assert heads_on(page, ".snapshot-view") == [1, 4] and page.input_value(".snapshot-view .sv-layer") == "3"
    assert page.get_attribute(".snapshot-view .tokcol.right .token.pinned", "data-index") == "7"

    # the permalink reopens the same live view
    page.goto(f"{page.base}/f/{finding['id']}")
    page.wait_for_url("**/inspect?*")
    page.wait_for_function("() => window.headscope && window.headscope.edgesDrawn > 0")
    state = query(page)
    assert state["layer"] == ["3"] and state["heads"] == ["1,4"] and state["aspect"] == ["service"]
    assert state["token"] == ["7"] and state["side"] == ["right"]
    assert page.input_value("#layer-select") == "3" and heads_on(page, "#head-swatches") == [1, 4]


def test_save_from_model_view(page):
    page.goto(f"{page.base}/inspect?model={MODEL}&text={REVIEW}&aspect=food&view=model&hm_layer=2&hm_head=5")
    page.wait_for_selector(".thumb.selected[data-layer='2'][data-head='5']", timeout=30_000)
    finding = save_from(page, "#save-finding-model", unique("Model view 2.5"), labels=("phrase",))
    assert finding["view"]["kind"] == "model" and finding["view"]["heads"] == [[2, 5]]
    assert len(finding["snapshot"]["attention"]["layers"]) == 6  # the model view has every layer
    page.goto(f"{page.base}/f/{finding['id']}")
    page.wait_for_url("**/inspect?*")
    state = query(page)
    assert state["view"] == ["model"] and state["hm_layer"] == ["2"] and state["hm_head"] == ["5"]
    page.wait_for_selector(".thumb.selected[data-layer='2'][data-head='5']", timeout=30_000)


def test_save_with_heads_switched_off_keeps_the_intervention(page, offline_page, tmp_path):
    open_inspect(page, 5, "3")
    page.goto(page.url + "&iv=4.7,5.3")
    page.wait_for_function(
        "() => { const r = window.headscope.response; return r && r.intervention && "
        "r.intervention.heads.length === 2 && !document.body.dataset.busy; }",
        timeout=60_000,
    )
    finding = save_from(page, "#save-finding-head", unique("Heads 4.7 and 5.3 switched off"))
    kept = finding["input"]["intervention"]
    assert kept["heads"] == [[4, 7], [5, 3]] and kept["mode"] == "zero"
    assert finding["snapshot"]["prediction"]["label"] == kept["after"]["label"]  # the intervened snapshot
    label = kept["before"]["label"]
    before, after = kept["before"]["probabilities"][label], kept["after"]["probabilities"][label]
    line = f"Heads 4.7, 5.3 zeroed: {label} {before:.2f} → {after:.2f}"

    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.text_content(".finding-intervention").startswith(line)
    with page.expect_download() as download:
        page.click("#export-html")
    path = tmp_path / "intervened.html"
    download.value.save_as(path)

    page.click("#live-view")  # open in inspect: the same heads switched off
    page.wait_for_url("**/inspect?*")
    page.wait_for_function(
        "() => window.headscope && window.headscope.response && window.headscope.response.intervention"
    )
    assert query(page)["iv"] == ["4.7,5.3"]
    assert page.locator("#iv-chips .iv-chip").all_text_contents() == ["4.7", "5.3"]

    offline_page.goto(path.as_uri())  # the export draws the intervened snapshot and says before → after
    offline_page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert offline_page.text_content(".finding-intervention").startswith(line)
    assert int(offline_page.get_attribute(".snapshot-view", "data-edges")) > 0


def test_exported_html_works_from_disk_with_no_network(page, offline_page, tmp_path):
    finding = create(page.base, title=unique("Export me"), labels=["aspect"])
    # the finding page's Export button downloads the file
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    # the served page defines its labels one "?" away; the file, opened without the server, has no such links
    assert page.locator(".finding-facts a.concept[href='/concepts#head-label']").count() == 1
    with page.expect_download() as download:
        page.click("#export-html")
    path = tmp_path / "finding.html"
    download.value.save_as(path)
    html = path.read_text()
    assert finding["title"] in html and "http://127.0.0.1" not in html

    offline_page.goto(path.as_uri())
    offline_page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert offline_page.text_content("h1.finding-title") == finding["title"]
    assert offline_page.locator("a.concept, [data-concept]").count() == 0  # no link to a server it lacks
    layer = offline_page.input_value(".snapshot-view .sv-layer")
    title = offline_page.get_attribute(".snapshot-view .head-toggle[data-head='3']", "title")
    assert title.startswith(f"head {layer}.3 "), title  # heads named layer.head, as on every page
    assert heads_on(offline_page, ".snapshot-view") == [0, 3, 7]
    before = wait_complete(offline_page, ".snapshot-view canvas")
    edges = int(offline_page.get_attribute(".snapshot-view", "data-edges"))
    assert edges > 0
    offline_page.click(".snapshot-view .head-toggle[data-head='3']")
    offline_page.wait_for_function(f"() => +document.querySelector('.snapshot-view').dataset.edges < {edges}")
    assert heads_on(offline_page, ".snapshot-view") == [0, 7]
    assert wait_complete(offline_page, ".snapshot-view canvas") != before
    # hovering a token highlights the tokens it attends to
    offline_page.hover(".snapshot-view .tokcol.left .token[data-index='3']")
    offline_page.wait_for_selector(".snapshot-view .tokcol.right .token.hl")
    # and the image downloads work offline too
    with offline_page.expect_download() as svg:
        offline_page.click(".snapshot-view .sv-svg")
    assert ET.parse(svg.value.path()).getroot().tag.endswith("svg")


def test_report_of_several_findings(page, offline_page, tmp_path):
    tag = uuid.uuid4().hex[:10]
    made = [
        create(page.base, title=unique(f"Report {i}"), tags=[tag], view={"kind": "head", "layer": i, "heads": [i]})
        for i in range(3)
    ]
    response = httpx.get(f"{page.base}/findings/export.html", params={"q": tag}, timeout=60)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    path = tmp_path / "report.html"
    path.write_text(response.text)
    offline_page.goto(path.as_uri())
    offline_page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert offline_page.locator("article.finding").count() == 3
    assert sorted(offline_page.locator("h1.finding-title").all_text_contents()) == sorted(f["title"] for f in made)
    for i in range(3):
        view = f"#finding-{i} .snapshot-view"
        offline_page.wait_for_function(f"() => +document.querySelector({view!r}).dataset.edges > 0")
    empty = httpx.get(f"{page.base}/findings/export.html", params={"q": "no such finding " + tag}, timeout=30)
    assert empty.status_code == 404 and "nothing to export" in empty.text


def test_hostile_title_and_note_do_not_run(page, offline_page, tmp_path):
    finding = create(page.base, title=HOSTILE_TITLE, note=HOSTILE_NOTE)
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.wait_for_timeout(300)  # time for an onerror to fire, were there one
    assert page.evaluate("window.__xss") is None
    assert page.text_content("h1.finding-title") == HOSTILE_TITLE  # shown as text
    assert page.locator(".note img[onerror], .note script, a[href^='javascript']").count() == 0
    for link in page.locator(".note a").all():
        link.click()
    assert page.evaluate("window.__xss") is None
    # the list shows the title as text too
    page.goto(page.base + "/findings?q=__xss")
    page.wait_for_selector(f"#findings-rows tr[data-finding-id='{finding['id']}']")
    assert page.evaluate("window.__xss") is None
    # and so does the exported file
    path = tmp_path / "hostile.html"
    path.write_text(httpx.get(f"{page.base}/findings/{finding['id']}/export.html", timeout=60).text)
    offline_page.goto(path.as_uri())
    offline_page.wait_for_function("() => document.body.dataset.ready === '1'")
    offline_page.wait_for_timeout(300)
    assert offline_page.evaluate("window.__xss") is None
    assert offline_page.text_content("h1.finding-title") == HOSTILE_TITLE


def check_png(data: bytes) -> None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def check_svg(path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    paths = root.findall(".//{http://www.w3.org/2000/svg}path")
    assert paths and all(p.get("d", "").startswith("M") for p in paths)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "service" in texts and "[CLS]" in texts


def test_png_and_svg_downloads(page):
    open_inspect(page, 2, "0,5")
    with page.expect_download() as png:
        page.click("#download-png")
    check_png(Path(png.value.path()).read_bytes())
    assert png.value.suggested_filename.endswith(".png")
    with page.expect_download() as svg:
        page.click("#download-svg")
    check_svg(svg.value.path())
    # the SVG holds as many lines as the canvas draws
    d = ET.parse(svg.value.path()).getroot().findall(".//{http://www.w3.org/2000/svg}g[@data-edges]")[0]
    assert int(d.get("data-edges")) == page.evaluate("window.headscope.edgesDrawn")

    finding = create(page.base, title=unique("Images"))
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    with page.expect_download() as png:
        page.click(".snapshot-view .sv-png")
    check_png(Path(png.value.path()).read_bytes())
    with page.expect_download() as svg:
        page.click(".snapshot-view .sv-svg")
    check_svg(svg.value.path())


def test_edit_public_link_and_delete(page, browser):
    finding = create(page.base, title=unique("Editable"), note="first")
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.click("#edit-finding")
    page.wait_for_selector("#finding-dialog[open]")
    assert page.input_value("#finding-title") == finding["title"]
    page.fill("#finding-note", "second *take*")
    page.check("#finding-dialog input[value='entity']")
    page.select_option("#finding-visibility", "shared")
    with page.expect_navigation():
        page.click("#finding-submit")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert "<em>take</em>" in page.inner_html(".note") and "shared" in page.text_content(".finding-visibility")

    page.click("#public-link")
    page.wait_for_selector("#public-url:not(:empty)")
    public_url = page.get_attribute("#public-url", "href")
    assert "/p/" in public_url
    assert page.text_content(".finding-visibility") == "shared, public link"  # at once, not only after a reload
    page.reload()
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.text_content(".finding-visibility") == "shared, public link"
    # the public page: read-only, the head view drawn from the snapshot
    anonymous = browser.new_context()
    try:
        public = anonymous.new_page()
        public.goto(public_url)
        public.wait_for_function("() => document.body.dataset.ready === '1'")
        assert public.text_content("h1.finding-title") == finding["title"]
        assert public.locator("#edit-finding, #delete-finding, #public-link").count() == 0
        # a page reached by its public link never says "private"; the prediction is defined one "?" away
        assert public.text_content(".finding-visibility") == "public link"
        assert public.locator(".finding-facts a.concept[href='/concepts#prediction']").count() == 1
        public.wait_for_function("() => +document.querySelector('.snapshot-view').dataset.edges > 0")
    finally:
        anonymous.close()
    exported = httpx.get(public_url + "/export.html", timeout=60)  # no account needed either
    assert exported.status_code == 200 and finding["title"] in exported.text
    page.click("#revoke-public-link")
    page.wait_for_selector("#public-box", state="hidden")
    assert page.text_content(".finding-visibility") == "shared"
    assert httpx.get(public_url).status_code == 404

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-finding")
    page.wait_for_url("**/findings")
    assert httpx.get(f"{page.base}/api/findings/{finding['id']}").status_code == 404
    gone = httpx.get(f"{page.base}/findings/{finding['id']}")
    assert gone.status_code == 404 and "does not exist" in gone.text


def test_missing_checkpoint_still_opens(page):
    snapshot = create(page.base)["snapshot"]
    finding = create(page.base, title=unique("Retired model"), model={"id": "no-longer-here"}, snapshot=snapshot)
    assert finding["checkpoint_status"] == "missing"
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert "no longer on this server" in page.text_content("[data-checkpoint='missing']")
    page.wait_for_function("() => +document.querySelector('.snapshot-view').dataset.edges > 0")


def test_list_filters_and_pages(page):
    tag = uuid.uuid4().hex[:10]
    for i in range(23):
        create(
            page.base,
            title=f"{tag} item {i:02d}",
            tags=[tag],
            labels=["entity"] if i % 2 else ["phrase"],
            view={"kind": "head", "layer": 1, "heads": [i % 12]},
            snapshot=None if i == 0 else first_snapshot(page.base),
        )
    page.goto(f"{page.base}/findings?q={tag}")
    page.wait_for_function("() => document.querySelectorAll('#findings-rows tr').length === 20")
    assert "1–20 of 23" in page.text_content("#page-info")
    page.click("#page-next")
    page.wait_for_function("() => document.querySelectorAll('#findings-rows tr').length === 3")
    assert query(page)["offset"] == ["20"]
    page.click("#page-prev")
    page.wait_for_function("() => document.querySelectorAll('#findings-rows tr').length === 20")
    page.select_option("#f-label", "entity")
    page.click("#f-apply")
    page.wait_for_function("() => document.querySelectorAll('#findings-rows tr').length === 11")
    page.fill("#f-layer", "1")
    page.fill("#f-head", "3")
    page.click("#f-apply")
    page.wait_for_function("() => document.querySelectorAll('#findings-rows tr').length === 2")  # items 3 and 15
    assert "export.html?" in page.get_attribute("#export-report", "href") and "head=3" in page.get_attribute(
        "#export-report", "href"
    )


def test_a_late_first_list_never_replaces_the_filtered_one(page):
    """The page's first, unfiltered list held back until a filtered one is shown: its late answer is dropped."""
    title = unique("late list")
    create(page.base, title=title)
    create(page.base, title=unique("another"))  # so the unfiltered list differs from the filtered one
    held = []

    def hold_the_first_list(route):
        if not held and "q=" not in route.request.url:
            held.append(route)
        else:
            route.fallback()

    page.route("**/api/findings?*", hold_the_first_list)
    with page.expect_request("**/api/findings?*"):
        page.goto(page.base + "/findings")
    page.fill("#f-q", title)
    page.click("#f-apply")
    page.wait_for_function("() => document.querySelectorAll('#findings-rows tr').length === 1")
    assert held, "the first list was not held"
    with page.expect_response(lambda response: "/api/findings?" in response.url and "q=" not in response.url):
        held[0].fallback()
    page.evaluate("() => new Promise((done) => setTimeout(done, 100))")  # the late answer's handler has run
    assert page.eval_on_selector_all("#findings-rows .finding-link", "links => links.map((a) => a.textContent)") == [
        title
    ]


_snapshots: dict[str, dict] = {}


def first_snapshot(server: str) -> dict:
    """One server-computed snapshot reused for bulk findings (saves 22 forward passes on 2 CPUs)."""
    if server not in _snapshots:
        _snapshots[server] = create(server)["snapshot"]
    return _snapshots[server]


# ---- with accounts (HEADSCOPE_AUTH_ENABLED=true): the pages send the CSRF header and respect visibility ----


def new_visitor(browser, server: str):
    context = browser.new_context(viewport=VIEWPORT)
    context.route("**/*", lambda route: route.continue_() if on_this_machine(route.request.url) else route.abort())
    page = context.new_page()
    page.base = server
    return context, page


def logged_in(browser, server: str, name: str):
    context, page = new_visitor(browser, server)
    response = context.request.post(server + "/api/auth/login", data={"name": name, "password": PASSWORDS[name]})
    assert response.ok, response.text()
    return context, page


def test_with_accounts_csrf_and_visibility(browser, auth_server):
    alice_ctx, alice = logged_in(browser, auth_server, "alice")
    bob_ctx, bob = new_visitor(browser, auth_server)
    try:
        open_inspect(alice, 1, "2")
        finding = save_from(alice, "#save-finding-head", unique("Alice's head 1.2"))  # POST with X-CSRF-Token
        assert finding["author"] == "alice" and finding["visibility"] == "private"

        # bob, not logged in yet: 401 with a way to log in that brings him back
        assert bob.goto(f"{auth_server}/findings/{finding['id']}").status == 401
        # the 401 page's own ready flag must not answer for the login page: wait for the navigation first
        with bob.expect_navigation(url="**/login**"):
            bob.click("#login-link")
        bob.wait_for_function("() => document.body && document.body.dataset.ready === '1'")  # the login script listens
        bob.fill("#login-name", "bob")
        bob.fill("#login-password", "wrong password")
        bob.click("#login-button")
        bob.wait_for_selector("#error-box:not([hidden])")
        assert "wrong user name or password" in bob.text_content("#error-box")
        bob.fill("#login-password", PASSWORDS["bob"])
        with bob.expect_navigation(url=f"**/findings/{finding['id']}") as arrived:
            bob.click("#login-button")
        assert arrived.value.status == 404  # private: not even its existence
        assert bob.goto(f"{auth_server}/f/{finding['id']}").status == 404
        assert httpx.get(f"{auth_server}/findings/{finding['id']}").status_code == 401  # no account

        alice.goto(f"{auth_server}/findings/{finding['id']}")
        alice.wait_for_function("() => document.body.dataset.ready === '1'")
        alice.click("#edit-finding")
        alice.select_option("#finding-visibility", "shared")
        with alice.expect_navigation():
            alice.click("#finding-submit")  # PATCH with X-CSRF-Token
        alice.wait_for_function("() => document.body.dataset.ready === '1'")
        assert "shared" in alice.text_content(".finding-visibility")

        bob.goto(f"{auth_server}/findings/{finding['id']}")
        bob.wait_for_function("() => document.body.dataset.ready === '1'")
        assert bob.text_content("h1.finding-title") == finding["title"]
        assert bob.locator("#edit-finding, #delete-finding, #public-link").count() == 0  # only the author edits
        bob.goto(f"{auth_server}/findings?author=alice")
        bob.wait_for_selector(f"#findings-rows tr[data-finding-id='{finding['id']}']")
    finally:
        alice_ctx.close()
        bob_ctx.close()


def test_relation_finding_round_trip(page):
    text = "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."
    page.goto(f"{page.base}/inspect?model=demo-re&text={quote(text)}&layer=4&heads=2")
    page.wait_for_function("() => window.headscope && window.headscope.edgesDrawn > 0")
    finding = save_from(page, "#save-finding-head", unique("Entity head 4.2"), labels=("entity",))
    assert finding["input"]["text"] == text and finding["input"].get("aspect") is None
    assert finding["model"]["task"] == "re"
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    gold = page.locator(".snapshot-view .tokcol.left .token.gold").all_text_contents()
    assert "fire" in gold and "cigarette" in gold
    page.goto(f"{page.base}/f/{finding['id']}")
    page.wait_for_function("() => window.headscope && window.headscope.edgesDrawn > 0")
    assert query(page)["text"] == [text] and query(page)["model"] == ["demo-re"]
    assert page.input_value("#text-input") == text and page.is_hidden("#aspect-input")


def test_summary_finding_with_head_pairs(page):
    # as the head-classification pages save them: [layer, head] pairs across layers, no single layer
    finding = create(
        page.base,
        title=unique("Aspect heads"),
        labels=["aspect"],
        view={"kind": "summary", "layer": None, "heads": [[3, 5], [1, 2]]},
    )
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.input_value(".snapshot-view .sv-layer") == "3" and heads_on(page, ".snapshot-view") == [5]
    assert "3.5, 1.2" in page.text_content(".finding-facts")
    page.goto(f"{page.base}/f/{finding['id']}")
    page.wait_for_function("() => window.headscope && window.headscope.edgesDrawn > 0")
    assert query(page)["layer"] == ["3"] and query(page)["heads"] == ["5"]


def test_a_finding_from_an_untrained_checkpoint_says_so_beside_its_prediction(page):
    baseline = create(page.base, model="pretrained-minilm-absa-qa-m")
    page.goto(f"{page.base}/findings/{baseline['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.text_content(".finding-facts .untrained-note").startswith("Untrained checkpoint:")
    trained = create(page.base)
    page.goto(f"{page.base}/findings/{trained['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.locator(".untrained-note").count() == 0
