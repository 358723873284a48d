#!/usr/bin/env bash
# Regenerate tests/fixtures/r_reference.json from data/ with R (metafor, survival, lme4, jsonlite).
# Needs R locally (Debian: apt-get install r-base-core r-cran-metafor r-cran-survival r-cran-lme4
# r-cran-jsonlite). CI has no R: it only reads the committed JSON.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v Rscript >/dev/null || { echo "Rscript not found: install R (see header of this script)" >&2; exit 1; }
Rscript "$root/scripts/r/make_reference.R" "$root"
