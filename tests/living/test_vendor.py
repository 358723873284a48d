"""The vendored chart libraries are the versions the installed Altair pins, loaded in order."""

from __future__ import annotations

import hashlib
import json
import re

import altair as alt
import yaml

from sarcoma_review.paths import BOOK_DIR, REPO_ROOT

VENDOR = BOOK_DIR / "_static" / "vendor"
LIBS = ("vega", "vega-lite", "vega-embed")


def _embedded_version(name: str) -> str:
    """The version string compiled into the minified build itself (not the manifest)."""
    text = (VENDOR / f"{name}.min.js").read_text(encoding="utf-8")
    if name == "vega-lite":
        m = re.search(r'var n="(\d+\.\d+\.\d+)"', text[:2000])  # vega-lite declares it first
    elif name == "vega":
        m = re.search(r'\.version="(\d+\.\d+\.\d+)"', text)
    else:  # vega-embed: `var pn="7.1.0"` ... `Rn.version=pn`
        var = re.search(r"\.version=(\w+),\w+\}\)\);?\s*$", text.strip())
        assert var, "vega-embed build: cannot find its version export"
        m = re.search(rf'\b{var.group(1)}="(\d+\.\d+\.\d+)"', text)
    assert m, f"cannot find the version inside {name}.min.js"
    return m.group(1)


def test_manifest_matches_builds() -> None:
    manifest = json.loads((VENDOR / "VERSIONS.json").read_text())
    assert set(manifest) == set(LIBS)
    for name in LIBS:
        assert _embedded_version(name) == manifest[name], name


def test_versions_follow_altair_pins() -> None:
    manifest = json.loads((VENDOR / "VERSIONS.json").read_text())
    # Altair 6 pins vega-lite exactly and vega / vega-embed by major version only.
    assert manifest["vega-lite"] == alt.VEGALITE_VERSION
    for name, pin in (("vega", alt.VEGA_VERSION), ("vega-embed", alt.VEGAEMBED_VERSION)):
        assert manifest[name] == pin or manifest[name].startswith(pin + "."), (
            f"vendored {name} {manifest[name]} does not satisfy Altair's pin {pin}: "
            "edit scripts/vendor_vega.sh and run it"
        )


def test_checksums_and_licences() -> None:
    sums = dict(line.split()[::-1] for line in (VENDOR / "SHA256SUMS").read_text().splitlines())
    for name in LIBS:
        data = (VENDOR / f"{name}.min.js").read_bytes()
        assert hashlib.sha256(data).hexdigest() == sums[f"{name}.min.js"]
        assert "sourceMappingURL" not in data.decode("utf-8")[-300:]  # no dangling source map
        assert (
            "BSD" in (VENDOR / f"{name}.LICENSE").read_text() or "Copyright" in (VENDOR / f"{name}.LICENSE").read_text()
        )


def test_config_loads_each_library_once_in_order() -> None:
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())["sphinx"]["config"]
    js = [e if isinstance(e, str) else e[0] for e in config["html_js_files"]]
    vendor = [e for e in js if e.startswith("vendor/")]
    assert vendor == [f"vendor/{n}.min.js" for n in LIBS]
    assert "book/_static" in config["html_static_path"]
