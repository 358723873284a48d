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
# ---- new-series comparison (stats/comparators.py::compare): the frozen particle rates of one landmark
# (tests/fixtures/comparisons/particle_lc5_nonchordoma.csv, logit rates with binomial variance
# 1/(n p (1-p))), REML + Knapp-Hartung with the ad hoc correction (test = "adhoc", the package's primary
# interval); predict() gives the prediction interval
# mu +/- t_{k-1} sqrt(se^2 + tau2). Comparators: a binomial rate of 60% with n = 112 (logit interval),
# and the ifosfamide series' reported 70% at 60 months with the Greenwood SE of the recomputed
# estimate on the log(-log) scale (survfit std.err / |log S|). The new-series difference is MOVER
# (square-and-add) from the prediction interval and the comparator's interval, and the predictive
# probability P(theta_new > logit R) integrates the t_{k-1} survival function over R's distribution.
suppressPackageStartupMessages(library(metafor))
pr <- read.csv(file.path(dir, "particle_lc5_nonchordoma.csv"), stringsAsFactors = FALSE)
q <- pr$rate_percent / 100
res <- rma(yi = qlogis(q), vi = 1 / (pr$n_patients * q * (1 - q)), method = "REML", test = "adhoc")
pp <- predict(res)
mu <- as.numeric(res$b[1]); sp <- sqrt(res$se^2 + res$tau2); k <- res$k
p1 <- 100 * plogis(mu); l1 <- 100 * plogis(pp$pi.lb); u1 <- 100 * plogis(pp$pi.ub)
z <- qnorm(.975)
fit60 <- survfit(Surv(p$lc_months, p$local_failure) ~ 1)
i60 <- max(which(fit60$time <= 60)); s60 <- fit60$surv[i60]
se_ll <- fit60$std.err[i60] / abs(log(s60))
comps <- list(
  binomial_60_n112 = list(centre = qlogis(.60), se = 1 / sqrt(112 * .6 * .4), rate = 60, scale = "logit"),
  ifosfamide_reported_lc70 = list(centre = log(-log(.70)), se = se_ll, rate = 70, scale = "log-log"))
to_rate <- function(x, scale) if (scale == "logit") plogis(x) else exp(-exp(x))
newseries <- lapply(comps, function(cm) {
  a <- to_rate(cm$centre - z * cm$se, cm$scale); b <- to_rate(cm$centre + z * cm$se, cm$scale)
  lo2 <- 100 * min(a, b); hi2 <- 100 * max(a, b); p2 <- cm$rate
  d <- p1 - p2
  prob <- integrate(function(zz) dnorm(zz) *
    pt((qlogis(to_rate(cm$centre + cm$se * zz, cm$scale)) - mu) / sp, df = k - 1, lower.tail = FALSE),
    -Inf, Inf, rel.tol = 1e-12)$value
  list(comparator_ci_low = lo2, comparator_ci_high = hi2, difference = d,
       new_diff_low = d - sqrt((p1 - l1)^2 + (hi2 - p2)^2), new_diff_high = d + sqrt((u1 - p1)^2 + (p2 - lo2)^2),
       prob_particle_exceeds = prob)
})
prediction <- list(input = "tests/fixtures/comparisons/particle_lc5_nonchordoma.csv", k = k, mu = mu,
                   se = res$se, tau2 = res$tau2, pi_low_percent = l1, pi_high_percent = u1,
                   estimate_percent = p1, ifosfamide_lc60_se_loglog = se_ll, comparators = newseries)

out <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              input = "tests/fixtures/comparisons/ifosfamide_patients.csv",
              conf_type = "log-log", conf_int = 0.95),
  LC = one(p$lc_months, p$local_failure),
  OS = one(p$os_months, p$death),
  new_series = prediction
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(dir, "r_greenwood.json"))
cat("wrote", file.path(dir, "r_greenwood.json"), "\n")
