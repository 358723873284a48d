"""The GitHub Actions workflows (.github/workflows/): valid against SchemaStore's workflow schema
(vendored, tests/fixtures/schemas/README.md; checked offline with the pinned jsonschema) and, for the
Pages workflow, doing what the README says: on pushes to main and on release tags, the whole test suite
first, then the site, then its publication with the official Pages actions."""

from __future__ import annotations

import json
import os
import re

import jsonschema
import pytest
import yaml

from sarcoma_review.paths import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
SCHEMA = json.loads((REPO_ROOT / "tests" / "fixtures" / "schemas" / "github-workflow.json").read_text())


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans (PyYAML's YAML 1.1 turns the key `on` into True)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _load(text: str) -> dict:
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


def _problems(workflow: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(workflow)]


def test_there_is_a_pages_workflow():
    assert REPO_ROOT / ".github" / "workflows" / "pages.yml" in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid(path):
    assert _problems(_load(path.read_text(encoding="utf-8"))) == []


def test_the_schema_check_rejects_broken_workflows():
    good = _load((REPO_ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))
    for breaking in (
        lambda w: w["jobs"]["build"].pop("runs-on"),  # a job runs nowhere
        lambda w: w["jobs"]["deploy"].__setitem__("step", w["jobs"]["deploy"].pop("steps")),  # typo
        lambda w: w["on"]["push"].__setitem__("branch", ["main"]),  # unknown trigger filter
        lambda w: w["jobs"]["deploy"]["permissions"].__setitem__("pages", "admin"),
    ):  # no such level
        broken = _load(yaml.safe_dump(good))
        broken["on"] = json.loads(json.dumps(good["on"]))
        breaking(broken)
        assert _problems(broken), breaking


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_pages_workflow_tests_first_then_publishes_the_site():
    wf = _load((REPO_ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))
    push = wf["on"]["push"]
    assert "main" in push["branches"]
    assert any(re.fullmatch(p.replace("*", ".*"), "v0.2.0") for p in push["tags"])  # review release tags vX.Y.Z
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    steps = _steps(build)
    uses = [s.get("uses", "") for s in steps]
    runs = [s.get("run", "") for s in steps]
    checkout = steps[uses.index(next(u for u in uses if u.startswith("actions/checkout@")))]
    assert checkout["with"]["fetch-depth"] == 0  # the data date and the releases' commits need the history
    i_test = next(i for i, r in enumerate(runs) if r.strip() in (".ci/run", "make test"))
    i_site = next(i for i, r in enumerate(runs) if r.strip() in ("make site", ".venv/bin/review site"))
    i_upload = next(i for i, u in enumerate(uses) if u.startswith("actions/upload-pages-artifact@"))
    assert i_test < i_site < i_upload
    assert steps[i_upload]["with"]["path"] == "_build/site"
    assert deploy["needs"] == "build" or deploy["needs"] == ["build"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in _steps(deploy))
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    # what the steps run exists here
    assert os.access(REPO_ROOT / ".ci" / "run", os.X_OK)
    targets = set(re.findall(r"^([a-z][\w-]*):", (REPO_ROOT / "Makefile").read_text(), re.M))
    assert {"test", "site"} <= targets
    # every action pinned to a major version
    for job in wf["jobs"].values():
        for s in _steps(job):
            if "uses" in s:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", s["uses"]), s["uses"]
