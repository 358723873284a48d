"""Sphinx glue for the review's book.

* Removes duplicate ``<script>`` entries from each page. sphinx-thebe 0.3.1 registers its inline
  configuration script (``const THEBE_JS_URL = ...``) once per ``env-before-read-docs`` event,
  which fires more than once in a Jupyter Book build; the second copy throws "Identifier
  'THEBE_JS_URL' has already been declared" in the reader's console.
* Loads the vendored chart libraries (vega, vega-lite, vega-embed; ~2.5 MB) only on pages that
  draw a chart (their body calls ``vegaEmbed``), still once and in the configured order; pages
  of text stay light.
"""

from __future__ import annotations

CHART_LIBRARIES = ("vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js")


def _is_chart_library(filename: str) -> bool:
    return any(filename.endswith(lib) for lib in CHART_LIBRARIES)


def _page_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    draws_charts = "vegaEmbed(" in (context.get("body") or "")
    seen: set[tuple[str, str]] = set()
    kept = []
    for js in scripts:
        filename = getattr(js, "filename", str(js)) or ""
        body = getattr(js, "attributes", {}).get("body", "") if hasattr(js, "attributes") else ""
        key = (filename, body or "")
        if key in seen or (not draws_charts and _is_chart_library(filename)):
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
