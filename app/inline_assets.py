"""The static scripts and styles of ``static/`` inlined into one self-contained HTML file.

Shared by the offline export of findings (app/web/export.py) and the notebook views (headscope/views.py):
both write files that open from disk, or sit in a notebook cell, with no network. Browsers do not load
ES modules from ``file://`` (nor from an ``iframe srcdoc``), so the modules are joined into one inline
script by ``bundle_modules`` (a deliberately small bundler for this repository's own modules, which refuses
anything it does not understand rather than emitting a broken script). ``csp_for`` allows exactly that
script (by its hash) and no connections at all.

It sits at the top of ``app`` (like app/config.py) because it is no web route and no model work: the web
layer and the notebook API above the core both import it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
STYLESHEETS = ("css/app.css", "css/findings.css")

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.js)";\s*$', re.M)
_EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)", re.M)


class ExportError(RuntimeError):
    """The static modules cannot be bundled (an import/export form the bundler does not handle)."""


def _module_names(js_dir: Path, entry: str) -> list[str]:
    """The entry and everything it imports, dependencies first."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ExportError(f"import cycle through {name}")
        visiting.add(name)
        for _, dep in _IMPORT.findall((js_dir / name).read_text(encoding="utf-8")):
            visit(dep)
        visiting.discard(name)
        order.append(name)

    visit(entry)
    return order


def _wrap_module(name: str, source: str) -> str:
    """One module as a function scope that returns its exports (its imports read earlier ones)."""

    def import_line(match: re.Match) -> str:
        names = [part.strip() for part in match.group(1).split(",") if part.strip()]
        bindings = ", ".join(n.replace(" as ", ": ") for n in names)
        return f"const {{ {bindings} }} = __modules[{json.dumps(match.group(2))}];"

    body = _IMPORT.sub(import_line, source)
    exports = _EXPORT.findall(body)
    body = _EXPORT.sub(lambda m: m.group(0)[len("export") :].lstrip(), body)
    leftover = re.search(r"^\s*(import|export)\b.*$|\bimport\s*\(", body, re.M)
    if leftover:
        raise ExportError(f"{name}: cannot inline {leftover.group(0).strip()!r}")
    return f"__modules[{json.dumps(name)}] = (() => {{\n{body}\nreturn {{ {', '.join(exports)} }};\n}})();\n"


def bundle_modules(entry: str = "export-main.js", js_dir: Path = STATIC / "js") -> str:
    """The entry module (default: the findings export's) and its imports as one script with no imports left."""
    parts = ["const __modules = Object.create(null);\n"]
    parts += [
        f"// ---- static/js/{name} ----\n" + _wrap_module(name, (js_dir / name).read_text(encoding="utf-8"))
        for name in _module_names(js_dir, entry)
    ]
    # "</" would end the inline <script> element early. "\x3c/" means the same in a string, a template and a
    # regular expression (where "<\/" would escape a closing slash: /</g became /<\/g, an unterminated regex).
    return "".join(parts).replace("</", "\\x3c/")


def inline_css() -> str:
    css = "\n".join((STATIC / path).read_text(encoding="utf-8") for path in STYLESHEETS if (STATIC / path).exists())
    return css.replace("</", "<\\/")


def json_for_script(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no "<", ">" or "&" left to end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def csp_for(*scripts: str) -> str:
    """A Content-Security-Policy that runs exactly these inline scripts (by hash) and connects nowhere."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"
        for script in scripts
    )
    return (
        "default-src 'none'; script-src " + hashes + "; style-src 'unsafe-inline'; "
        "img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
