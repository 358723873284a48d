"""The registry of audit checks (sarcoma_review.audit.registry) on the frozen audit data.

Every registered check has its row of documentation, its group has an input builder and a place in
the runner's order, every check gives at least one row on the frozen copy of the audited data
(``frozen_data/``) unless the one file it needs is absent there (then none), and the rows of the
registered checks, group by group, are exactly the audit table: nothing runs outside the registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sarcoma_review.audit import registry, runner

FROZEN = Path(__file__).parent / "frozen_data"


def test_names_are_unique_and_a_second_registration_is_refused():
    names = [c.name for c in registry.REGISTRY]
    assert len(names) == len(set(names))
    first = registry.REGISTRY[0]
    with pytest.raises(ValueError, match="registered twice"):
        registry.check(first.name, first.group, first.source, first.what)(lambda ctx: [])
    assert [c.name for c in registry.REGISTRY] == names  # the refused one was not added


@pytest.mark.parametrize("chk", registry.REGISTRY, ids=lambda c: c.name)
def test_every_check_is_documented_and_placed(chk):
    assert chk.what.strip() and chk.source.strip(), f"{chk.name} has no documentation row"
    assert chk.group in registry.CONTEXTS, f"{chk.name}: group {chk.group!r} has no input builder"
    assert chk.group in runner.GROUPS, f"{chk.name}: group {chk.group!r} is not run by the audit"
    assert callable(chk.run)


@pytest.fixture(scope="module")
def inputs():
    built = {}

    def get(group):
        build = registry.CONTEXTS[group]
        if build not in built:
            built[build] = build(FROZEN)
        return built[build]

    return get


@pytest.fixture(scope="module")
def rows_by_check(inputs):
    return {c.name: c.run(inputs(c.group)) for c in registry.REGISTRY}


@pytest.mark.parametrize("chk", registry.REGISTRY, ids=lambda c: c.name)
def test_every_check_produces_its_rows_on_the_frozen_data(chk, rows_by_check):
    rows = rows_by_check[chk.name]
    if chk.optional is not None and not (FROZEN / chk.optional).exists():
        assert rows == [], f"{chk.name} needs {chk.optional}, absent from the frozen data, yet gave rows"
        return
    assert rows, f"{chk.name} gave no row on the frozen data"
    for r in rows:
        assert r.verdict and r.check_id


def test_the_audit_table_is_the_registered_checks_in_group_order(rows_by_check):
    expected = [r.check_id for g in runner.GROUPS for c in registry.checks(g) for r in rows_by_check[c.name]]
    table = runner.run_audit(FROZEN)
    assert table["check_id"].tolist() == expected
    assert len(set(expected)) == len(expected)
