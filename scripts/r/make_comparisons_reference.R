#!/usr/bin/env Rscript
# Greenwood reference values for the comparisons (src/sarcoma_review/stats/survival.py::greenwood,
# stats/comparators.py::km_rate). Reads the FROZEN inputs beside its fixture,
# tests/fixtures/comparisons/ifosfamide_patients.csv (a copy of data/ifosfamide/patients.csv taken when
# this fixture was made, so that new data never change what the test compares), and writes
# tests/fixtures/comparisons/r_greenwood.json. CI never runs R: the tests only read the JSON.
#
# Run from the repository root:  Rscript scripts/r/make_comparisons_reference.R
# For each endpoint (LC: lc_months/local_failure; OS: os_months/death) and each landmark time:
#   surv       Kaplan-Meier S(t)                      summary(survfit)$surv
#   se_surv    Greenwood standard error of S(t)       summary(survfit)$std.err (R reports it on the S scale)
#   se_cumhaz  sqrt(sum d / (n (n - d)))              survfit()$std.err at the last event time <= t
#   lower, upper  95% interval, conf.type = "log-log" (R's default in this package's convention)
#   n_risk     number at risk at t
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) >= 1) args[1] else "."
dir <- file.path(root, "tests", "fixtures", "comparisons")
p <- read.csv(file.path(dir, "ifosfamide_patients.csv"), stringsAsFactors = FALSE)
times <- c(6, 12, 24, 36, 48, 60, 72)
one <- function(time, event) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = "log-log")
  s <- summary(fit, times = times, extend = TRUE)
  idx <- sapply(times, function(t) { i <- which(fit$time <= t); if (length(i)) max(i) else NA })
  list(times = times, surv = s$surv, se_surv = s$std.err,
       se_cumhaz = ifelse(is.na(idx), 0, fit$std.err[idx]),
       lower = s$lower, upper = s$upper, n_risk = s$n.risk)
}
out <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              input = "tests/fixtures/comparisons/ifosfamide_patients.csv",
              conf_type = "log-log", conf_int = 0.95),
  LC = one(p$lc_months, p$local_failure),
  OS = one(p$os_months, p$death)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(dir, "r_greenwood.json"))
cat("wrote", file.path(dir, "r_greenwood.json"), "\n")
