"""The vocabulary every layer shares: endpoint names and order, landmark names, study labels,
and the histology strata (chordoma series against all others), defined once."""

from __future__ import annotations

ENDPOINT_NAMES = {
    "LC": "local control",
    "OS": "overall survival",
    "DPFS": "distant progression-free survival",
    "PFS": "progression-free survival",
    "DFS": "disease-free survival",
    "DMFS": "distant metastasis-free survival",
    "LRFS": "local recurrence-free survival",
    "CSS": "cause-specific survival",
}


def landmark_name(endpoint: str, horizon_years: float) -> str:
    """``"5-year local control"``."""
    return f"{horizon_years:g}-year {ENDPOINT_NAMES.get(endpoint, endpoint)}"


def study_label(first_author: str, year) -> str:
    """``"Imai 2016"``: how a series is named on every page, in every table and CSV."""
    return f"{first_author} {int(year)}"


# --- histology strata -----------------------------------------------------------------------------
#: The derived study column holding the histology stratum (values :data:`CHORDOMA`, :data:`OTHER`).
HISTOLOGY_STRATUM = "histology_group"
#: Table I's word for a chordoma-only series (``studies.histology``).
CHORDOMA_HISTOLOGY = "Chordoma"
#: Table I's word for a series of mixed histologies (which may include chordomas).
MIXED_HISTOLOGY = "Various"
CHORDOMA, OTHER = "chordoma", "other"
#: Readers' names of the strata, in display order.
HISTOLOGY_STRATUM_NAMES = {CHORDOMA: "Chordoma series", OTHER: "All other series"}
#: Readers' names of the subgroup columns a pooled page reports.
SUBGROUP_NAMES = {HISTOLOGY_STRATUM: "histology", "particle_group": "particle group", "site": "site"}


def histology_stratum(histology: str) -> str:
    """The stratum of one series: :data:`CHORDOMA` when Table I gives "Chordoma", else :data:`OTHER`.

    A series of "Various" histology may include some chordomas; it is in :data:`OTHER` (Table I
    does not say how many), which the pooled pages state.
    """
    return CHORDOMA if str(histology).strip() == CHORDOMA_HISTOLOGY else OTHER


def with_strata(df):
    """``df`` (study rows with ``histology``) with the :data:`HISTOLOGY_STRATUM` column added.

    The one place the stratum is derived; every layer that needs it calls this. A table without
    ``histology`` is returned unchanged (there is nothing to stratify by).
    """
    if "histology" not in df.columns:
        return df
    out = df.copy()
    out[HISTOLOGY_STRATUM] = [histology_stratum(h) for h in out["histology"]]
    return out


def analysis_label(analysis_id: str, subgroup_column: str = "", subgroup_value: str = "") -> str:
    """A pooled analysis in readers' words: ``("lc-5y", "histology_group", "chordoma")`` ->
    ``"5-year local control, chordoma series"``; ``("os-3y", "particle_group", "carbon")`` ->
    ``"3-year overall survival, particle group carbon"``; no subgroup -> ``"..., all series"``.
    An id that is not ``<endpoint>-<years>y`` is kept as given."""
    import re

    m = re.fullmatch(r"([a-z]+)-(\d+(?:\.\d+)?)y", str(analysis_id).strip().lower())
    name = landmark_name(m[1].upper(), float(m[2])) if m else str(analysis_id)
    column, value = str(subgroup_column or ""), str(subgroup_value or "")
    if not column:
        return f"{name}, all series"
    if column == HISTOLOGY_STRATUM and value in HISTOLOGY_STRATUM_NAMES:
        return f"{name}, {HISTOLOGY_STRATUM_NAMES[value][:1].lower()}{HISTOLOGY_STRATUM_NAMES[value][1:]}"
    words = SUBGROUP_NAMES.get(column, column.replace("_", " "))
    return f"{name}, {words} {value}" if value else f"{name}, by {words}"


def plain_labels(text: str) -> str:
    """``text`` with every analysis written the old way, ``"lc-5y (particle_group = carbon)"`` or
    ``"os-3y (all studies)"``, in readers' words (:func:`analysis_label`): for the text of releases
    written before the labels were (their release notes stay as published otherwise)."""
    import re

    def words(m: re.Match) -> str:
        inner = m.group(2)
        if inner == "all studies":
            return analysis_label(m.group(1))
        column, _, value = inner.partition(" = ")
        return analysis_label(m.group(1), column.strip(), value.strip())

    return re.sub(r"\b([a-z]+-\d+(?:\.\d+)?y) \((all studies|[a-z_]+ = [^)]+)\)", words, text)


#: Readers' words for the data's column names and files that older generated text names.
FIELD_WORDS = {
    "rate_percent": "rate (%)",
    "n_patients": "patients",
    "patient_group": "patient group",
    "n_chordoma": "number of chordomas",
    "histology_group": "histology stratum",
    "particle_group": "particle group",
    "initial_tumor_size": "initial tumour size",
    "horizon_years": "horizon (years)",
    "ci_low": "lower 95% limit",
    "ci_high": "upper 95% limit",
}
FILE_WORDS = {
    "data/search/search_log.csv": "the search log",
    "summary_of_findings.csv": "the summary of findings",
    "data/literature/extractions.csv extractor": "the review's extraction, extractor",
    "data/literature/extractions.csv": "the review's extraction",
    "data/literature/table_i_rates.csv": "Table I of Cuccia et al. 2020 as printed",
    "data/literature/outcomes.csv": "the review's data",
}


def reader_words(text: str) -> str:
    """:func:`plain_labels`, then every file and column name of :data:`FILE_WORDS` and
    :data:`FIELD_WORDS` in words (whole words only)."""
    import re

    text = plain_labels(text)
    for path, words in FILE_WORDS.items():
        text = text.replace(path, words)
    return re.sub(r"\b(" + "|".join(map(re.escape, FIELD_WORDS)) + r")\b", lambda m: FIELD_WORDS[m.group(1)], text)
