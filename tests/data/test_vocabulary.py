def test_analysis_labels_are_plain_words() -> None:
    from sarcoma_review.data.vocabulary import analysis_label, plain_labels

    assert analysis_label("lc-5y") == "5-year local control, all series"
    assert analysis_label("lc-5y", "histology_group", "chordoma") == "5-year local control, chordoma series"
    assert analysis_label("os-3y", "particle_group", "carbon") == "3-year overall survival, particle group carbon"
    assert analysis_label("os-3y", "site", "") == "3-year overall survival, by site"
    # text of an old release, rewritten label by label; the rest untouched
    old = "lc-5y (particle_group = carbon): p = 0.002 → p = 0.208. os-3y (all studies): heterogeneity"
    assert plain_labels(old) == (
        "5-year local control, particle group carbon: p = 0.002 → p = 0.208. "
        "3-year overall survival, all series: heterogeneity"
    )
    from sarcoma_review.data.vocabulary import reader_words

    assert reader_words(
        "Corrected imai2016: LC 5-year rate_percent: 77 → 77.2 (searches in "
        "data/search/search_log.csv, S-V rows); n_patients_total stays"
    ) == (
        "Corrected imai2016: LC 5-year rate (%): 77 → 77.2 (searches in the search log, S-V rows); "
        "n_patients_total stays"
    )
