"""The review's resolution of each disagreement that a rule cannot settle (read by build_tables.py)."""

MANUAL = {
    ("delaney2014", "rate", "LC", "5"): (
        "81",
        "the sentence gives 81% for the whole series and 94% for the primary tumours only (a subgroup): the series' rate is 81",
    ),
    ("delaney2014", "rate", "LC", "8"): (
        "74",
        "the sentence gives 74% for the whole series and 85% for the primary tumours only (a subgroup): the series' rate is 74",
    ),
}
MANUAL.update(
    {
        ("isac2024", "rate", "LC", "2"): (
            "",
            "the trial reports local progression-free survival (LPFS), which extraction 2 coded LC and extraction 1 OTHER; LPFS is not the local control the other series report (it is kept as its own endpoint, not pooled with LC)",
        ),
        ("isac2024", "rate", "LC", "4"): (
            "",
            "as at 2 years: local progression-free survival (LPFS) is kept as its own endpoint, not pooled with local control",
        ),
        ("isac2024", "rate", "OTHER", "2"): (
            "84",
            "local progression-free survival (LPFS) as the trial names it; both extractions read 84% at 2 years (coded differently)",
        ),
        ("isac2024", "rate", "OTHER", "4"): (
            "70",
            "local progression-free survival (LPFS); both extractions read 70% at 4 years (coded differently)",
        ),
        ("psisacral2021", "rate", "DMFS", "4"): (
            "",
            "the paper's endpoint is freedom from distant recurrence, which extraction 2 coded DMFS and extraction 1 OTHER; kept under its own name, not pooled as metastasis-free survival",
        ),
        ("psisacral2021", "rate", "OTHER", "4"): (
            "89",
            "freedom from distant recurrence as the paper names it; both extractions read 89% at 4 years (coded differently)",
        ),
    }
)
MANUAL.update(
    {
        ("laughlin2022", "rate", "LC", "1"): (
            "",
            "the paper reports locoregional control (local and regional failure both count), which extraction 2 coded LC and extraction 1 OTHER; kept under its own name, not pooled with local control",
        ),
        ("laughlin2022", "rate", "OTHER", "1"): (
            "100",
            "locoregional control as the paper names it; both extractions read 100% at 1 year (coded differently)",
        ),
    }
)
MANUAL.update(
    {
        ("olderpatients2024", "rate", "LC", "5"): (
            "81",
            "both extractions read 81% for the whole series; extraction 2 also recorded the chordoma (84%) and non-chordoma (77%) subgroups as rates: the series' rate is 81",
        ),
        ("olderpatients2024", "rate", "OS", "5"): (
            "62",
            "both extractions read 62% for the whole series; extraction 2 also recorded the chordoma (72%) and non-chordoma (47%) subgroups: the series' rate is 62",
        ),
        ("olderpatients2024", "rate", "CSS", "5"): (
            "76",
            "both extractions read 76% for the whole series; extraction 2 also recorded the chordoma (87%) and non-chordoma (60%) subgroups: the series' rate is 76",
        ),
    }
)
MANUAL.update(
    {
        ("matsumoto2013", "late_toxicity_g3plus", "", ""): (
            "",
            "the abstract counts events, not patients (grade 3 late skin reaction 1, grade 4 late skin reaction 1, grade 3 late spinal cord reaction 1) and prints no total; the events are not summed into a patient count",
        ),
        ("matsunobu2012", "late_toxicity_g3plus", "", ""): (
            "",
            "the abstract reports 3 patients with severe skin/soft-tissue complications requiring skin grafts, with no grade and no statement whether late; not recorded as a grade 3 or worse count",
        ),
    }
)
