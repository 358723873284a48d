"""Sphinx glue for the review's book.

* Removes duplicate ``<script>`` entries from each page. sphinx-thebe 0.3.1 registers its inline
  configuration script (``const THEBE_JS_URL = ...``) once per ``env-before-read-docs`` event,
  which fires more than once in a Jupyter Book build; the second copy throws "Identifier
  'THEBE_JS_URL' has already been declared" in the reader's console.
"""

from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for js in scripts:
        body = getattr(js, "attributes", {}).get("body", "") if hasattr(js, "attributes") else ""
        key = (getattr(js, "filename", str(js)) or "", body or "")
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
