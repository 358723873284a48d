"""The examples in the statistics modules' docstrings run as doctests (they are documentation that
cannot drift from the code). The worked numbers in them are hand derivations (Kaplan-Meier products,
logit variances, the DerSimonian-Laird formula) or, for ``pool_rates``, metafor's ``rma``."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "sarcoma_review.stats.pooling",
    "sarcoma_review.stats.survival",
    "sarcoma_review.stats.moderators",
    "sarcoma_review.stats.sensitivity",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} of {attempted} doctest examples failed in {name}"


def test_examples_exist():
    count = sum(doctest.testmod(importlib.import_module(n), report=False).attempted for n in MODULES)
    assert count >= 8
