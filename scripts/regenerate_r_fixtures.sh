#!/usr/bin/env bash
# Regenerate tests/fixtures/r_reference.json with R (metafor, survival, lme4, jsonlite).
# Needs R locally (Debian: apt-get install r-base-core r-cran-metafor r-cran-survival r-cran-lme4
# r-cran-jsonlite). CI has no R: it only reads the committed JSON.
#
# 1. Freeze the inputs: copy every data table the R script reads (CSV and its schema, keeping the
#    <group>/<table> layout, plus the tables their foreign keys reference) from data/ into
#    tests/fixtures/r_inputs/ -- a data folder the package loaders read with data_dir=...
# 2. Run scripts/r/make_reference.R, which reads only tests/fixtures/r_inputs/ and records the
#    sha256 of every frozen file under meta.inputs of the fixture.
# The tests compare the package with R on the frozen copies, so new rows in data/ do not break them;
# tests/stats/test_fixture_inputs.py warns when data/ has moved on from the frozen copies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v Rscript >/dev/null || { echo "Rscript not found: install R (see header of this script)" >&2; exit 1; }

# <group>/<table> read by make_reference.R (literature/particle_groups: studies' foreign key; literature/centres:
# the one-series-per-centre row)
tables=(literature/studies literature/outcomes literature/particle_groups literature/centres ifosfamide/patients)
frozen="$root/tests/fixtures/r_inputs"
rm -rf "$frozen"
for t in "${tables[@]}"; do
  mkdir -p "$frozen/$(dirname "$t")"
  for f in "$t.csv" "$t.schema.yaml"; do
    cp "$root/data/$f" "$frozen/$f"
  done
done
Rscript "$root/scripts/r/make_reference.R" "$root"
