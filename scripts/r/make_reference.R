#!/usr/bin/env Rscript
# Reference values for the statistics core (src/sarcoma_review/stats/: pooling.py, moderators.py, survival.py).
# Reads the frozen copies of the data tables in tests/fixtures/r_inputs/ (never the live data/) and
# writes tests/fixtures/r_reference.json with the sha256 of every frozen file under meta$inputs.
# Run through scripts/regenerate_r_fixtures.sh (from the repository root), which first copies the
# tables from data/ into tests/fixtures/r_inputs/. CI never runs R.
#
# Tight convergence everywhere (REML threshold 1e-12, uniroot tol 1e-12) so that the fixture holds
# the exact solution of each estimating equation; metafor's defaults (1e-5, eps^0.25) would leave
# differences of that order, larger than the 1e-4 test tolerance for tau^2's Q-profile CI.
suppressPackageStartupMessages({
  library(metafor); library(survival); library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) >= 1) args[1] else "."
out_file <- file.path(root, "tests", "fixtures", "r_reference.json")
inputs_rel <- file.path("tests", "fixtures", "r_inputs")
inputs_dir <- file.path(root, inputs_rel)
if (!dir.exists(inputs_dir)) stop("no ", inputs_dir, ": run scripts/regenerate_r_fixtures.sh (it freezes data/ there)")

# sha256 of every frozen file (keys relative to r_inputs/, "/"-separated): the tests check the
# copies against these and warn when data/ has moved on
sha256_file <- function(f) {
  if (requireNamespace("digest", quietly = TRUE)) return(digest::digest(f, algo = "sha256", file = TRUE))
  tool <- if (nzchar(Sys.which("sha256sum"))) c("sha256sum") else c("shasum", "-a", "256")
  sub(" .*$", "", system2(tool[1], c(tool[-1], shQuote(f)), stdout = TRUE))
}
input_files <- sort(list.files(inputs_dir, recursive = TRUE))
inputs <- setNames(lapply(input_files, function(f) sha256_file(file.path(inputs_dir, f))), input_files)

studies <- read.csv(file.path(inputs_dir, "literature", "studies.csv"), stringsAsFactors = FALSE)
outcomes <- read.csv(file.path(inputs_dir, "literature", "outcomes.csv"), stringsAsFactors = FALSE)
if (!"overlap_group" %in% names(studies)) studies$overlap_group <- ""
studies$overlap_group[is.na(studies$overlap_group)] <- ""
centres <- read.csv(file.path(inputs_dir, "literature", "centres.csv"), stringsAsFactors = FALSE)
studies <- merge(studies, centres[, c("study_id", "centre_key")], by = "study_id", all.x = TRUE, sort = FALSE)
lit <- merge(outcomes[, c("study_id", "endpoint", "horizon_years", "rate_percent")],
             studies[, c("study_id", "first_author", "year", "n_patients", "particle_group", "histology",
                         "overlap_group", "patient_group", "n_chordoma", "centre_key")],
             by = "study_id", sort = FALSE)
# histology strata: chordoma-only series versus all other series
lit$histology_group <- ifelse(lit$histology == "Chordoma", "chordoma", "other")

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000, stepadj = 0.5)
# The protocol's overlap rule, written again here (independently of sarcoma_review.data.overlap): within
# one landmark, the series of an overlap group with the most patients stands in for the group (a tie to
# the later year, then the smaller study_id); a series without a group is its own group.
independent <- function(d) {
  key <- ifelse(d$overlap_group == "", paste0("series:", d$study_id), d$overlap_group)
  o <- order(key, -d$n_patients, -d$year, d$study_id)
  d[o, ][!duplicated(key[o]), ]
}
landmark <- function(ep, h, every_series = FALSE) {
  d <- lit[lit$endpoint == ep & lit$horizon_years == h, ]
  if (!every_series) d <- independent(d)
  d <- d[order(d$study_id), ]
  # inputs are KM rates, not counts: xi = n * p is generally non-integer (escalc accepts it)
  d$xi <- d$n_patients * d$rate_percent / 100
  es <- escalc(measure = "PLO", xi = d$xi, ni = d$n_patients, add = 1/2, to = "only0")
  d$yi <- as.numeric(es$yi); d$vi <- as.numeric(es$vi)
  d
}
# the package's interval names and metafor's tests: HKSJ-adhoc (the primary interval, scale factor truncated at 1)
# is test = "adhoc", plain HKSJ "knha", Wald "z"
test_of <- function(ci) switch(ci, "HKSJ" = "knha", "HKSJ-adhoc" = "adhoc", "Wald" = "z")
CIS <- c("HKSJ", "HKSJ-adhoc", "Wald")

summ <- function(res, ci) {
  p <- predict(res)
  ciq <- tryCatch(confint(res, control = list(tol = 1e-12, tau2.max = 1000))$random,
                  error = function(e) NULL)
  list(k = res$k, estimate = as.numeric(res$b[1]), se = res$se[1], ci_lb = res$ci.lb[1],
       ci_ub = res$ci.ub[1], pi_lb = as.numeric(p$pi.lb), pi_ub = as.numeric(p$pi.ub),
       tau2 = res$tau2, tau2_lb = if (is.null(ciq)) NA else ciq["tau^2", "ci.lb"],
       tau2_ub = if (is.null(ciq)) NA else ciq["tau^2", "ci.ub"], I2 = res$I2, H2 = res$H2,
       QE = res$QE, QEp = res$QEp, ddf = if (is.null(res$ddf) || is.na(res$ddf[1])) NA else res$ddf[1])
}

pooling <- list(); loo <- list(); cum <- list(); halved <- list(); glmm <- list(); adhoc <- list()
subsets <- list()
# The pooled pages' subset rows, written again here (independently of stats/sensitivity.py): one series per
# centre (within the landmark's independent series, the largest of each centre_key; a tie to the later year,
# then the smaller study_id) and without chordoma-majority series (patient_group "chordoma", or n_chordoma
# above half of n_patients; a series with no count is kept). A row only when it leaves a series out and
# two or more remain; REML with test = "adhoc" (the primary model).
one_per_centre <- function(d) {
  o <- order(d$centre_key, -d$n_patients, -d$year, d$study_id)
  d[o, ][!duplicated(d$centre_key[o]), ]
}
no_chordoma_majority <- function(d) {
  maj <- tolower(trimws(ifelse(is.na(d$patient_group), "", d$patient_group))) == "chordoma" |
    (!is.na(d$n_chordoma) & d$n_chordoma > d$n_patients / 2)
  d[!maj, ]
}
moderators <- list(); metareg <- list(); between <- list(); benchmark <- list(); single <- list()
prediction_k2 <- list()
# Prediction interval with Higgins' t_{k-2} (Higgins, Thompson & Spiegelhalter 2009), by hand from
# the primary REML + HKSJ-adhoc rma fit: mu +/- qt(.975, k - 2) * sqrt(tau2 + se^2) on the logit scale, with se
# the ad hoc HKSJ standard error (res$se under test = "adhoc", the se metafor's predict() uses);
# the same with the Wald se (test = "z") is recorded beside it. NA when k < 3.
pi_k2 <- function(res, dg, case) {
  rw <- rma(yi, vi, data = dg, method = "REML", test = "z", control = ctrl)
  k <- res$k; mu <- as.numeric(res$b[1])
  crit <- if (k >= 3) qt(.975, k - 2) else NA
  half <- crit * sqrt(res$tau2 + res$se^2); half_w <- crit * sqrt(res$tau2 + rw$se^2)
  list(case = case, k = k, df = k - 2, estimate = mu, se = res$se, se_type = "HKSJ-adhoc (metafor test='adhoc' res$se)",
       tau2 = res$tau2, crit = crit, pi_lb = mu - half, pi_ub = mu + half,
       pi_lb_percent = 100 * plogis(mu - half), pi_ub_percent = 100 * plogis(mu + half),
       se_wald = rw$se, pi_lb_wald_se = mu - half_w, pi_ub_wald_se = mu + half_w)
}
pooling_grid <- function(ep, h, d) {
  groups <- c(list(all = d), split(d, d$particle_group))
  for (g in names(groups)) {
    dg <- groups[[g]]
    if (nrow(dg) == 1) {
      single[[length(single) + 1]] <<- list(case = sprintf("%s_%gy_%s", ep, h, g), endpoint = ep,
        horizon = h, subgroup = g, yi = dg$yi, vi = dg$vi,
        ci_lb = dg$yi - qnorm(.975) * sqrt(dg$vi), ci_ub = dg$yi + qnorm(.975) * sqrt(dg$vi))
      next
    }
    for (m in c("REML", "DL", "PM")) for (ci in CIS) {
      res <- rma(yi, vi, data = dg, method = m, test = test_of(ci), control = ctrl)
      case <- sprintf("%s_%gy_%s_%s_%s", ep, h, g, m, ci)
      pooling[[length(pooling) + 1]] <<- c(list(case = case,
        endpoint = ep, horizon = h, subgroup = g, method = m, ci = ci), summ(res, ci))
      if (m == "REML" && ci == "HKSJ-adhoc") prediction_k2[[length(prediction_k2) + 1]] <<- pi_k2(res, dg, case)
    }
  }
}
# The landmarks of book/analyses.yml (the pooled pages), each pooled on the series the overlap rule keeps
LANDMARKS <- data.frame(endpoint = c("LC", "LC", "LC", "OS", "OS", "OS", "PFS", "PFS", "DFS"),
                        horizon = c(5, 3, 2, 5, 3, 2, 3, 5, 5))
# every series as published (the pooled pages' sensitivity row when the overlap rule left one out)
all_series <- list()
for (i in seq_len(nrow(LANDMARKS))) {
  ep <- LANDMARKS$endpoint[i]; h <- LANDMARKS$horizon[i]
  da <- landmark(ep, h, every_series = TRUE)
  if (nrow(da) > nrow(landmark(ep, h)) && nrow(da) >= 2) {
    res <- rma(yi, vi, data = da, method = "REML", test = "adhoc", control = ctrl)
    all_series[[length(all_series) + 1]] <- c(list(case = sprintf("%s_%gy", ep, h), endpoint = ep, horizon = h,
      study_ids = I(sort(da$study_id)), kept = I(sort(landmark(ep, h)$study_id))), summ(res, "HKSJ-adhoc"))
  }
}
for (i in seq_len(nrow(LANDMARKS))) {
  ep <- LANDMARKS$endpoint[i]; h <- LANDMARKS$horizon[i]
  d <- landmark(ep, h)
  pooling_grid(ep, h, d)
  res <- rma(yi, vi, data = d, method = "REML", test = "adhoc", control = ctrl)  # the primary model
  l1 <- leave1out(res)
  loo[[length(loo) + 1]] <- list(case = sprintf("%s_%gy", ep, h), omitted = d$study_id,
    estimate = l1$estimate, se = l1$se, ci_lb = l1$ci.lb, ci_ub = l1$ci.ub, tau2 = l1$tau2,
    I2 = l1$I2, H2 = l1$H2, QE = l1$Q, QEp = l1$Qp)
  cu <- cumul(res, order = d$year)
  cum[[length(cum) + 1]] <- list(case = sprintf("%s_%gy", ep, h), added = d$study_id[order(d$year)],
    estimate = cu$estimate, se = cu$se, ci_lb = cu$ci.lb, ci_ub = cu$ci.ub, tau2 = cu$tau2,
    I2 = cu$I2, H2 = cu$H2, QE = cu$Q, QEp = cu$Qp)
  for (v in c("one-per-centre", "no-chordoma-majority")) {
    ds <- if (v == "one-per-centre") one_per_centre(d) else no_chordoma_majority(d)
    if (nrow(ds) < nrow(d) && nrow(ds) >= 2) {
      rs <- rma(yi, vi, data = ds, method = "REML", test = "adhoc", control = ctrl)
      subsets[[length(subsets) + 1]] <- c(list(case = sprintf("%s_%gy_%s", ep, h, v), variant = v,
        study_ids = I(sort(ds$study_id))), summ(rs, "HKSJ-adhoc"))
    }
  }
  # HKSJ with the Knapp-Hartung ad hoc correction (scale factor truncated at 1): metafor test = "adhoc"
  ra <- rma(yi, vi, data = d, method = "REML", test = "adhoc", control = ctrl)
  adhoc[[length(adhoc) + 1]] <- c(list(case = sprintf("%s_%gy", ep, h)), summ(ra, "HKSJ-adhoc"))
  # halved effective sample size
  eh <- escalc(measure = "PLO", xi = d$xi / 2, ni = d$n_patients / 2, add = 1/2, to = "only0")
  rh <- rma(eh$yi, eh$vi, method = "REML", test = "adhoc", control = ctrl)
  halved[[length(halved) + 1]] <- c(list(case = sprintf("%s_%gy", ep, h)), summ(rh, "HKSJ-adhoc"))
  # GLMM on rounded events, ML, nAGQ = 7 (metafor default)
  gm <- rma.glmm(measure = "PLO", xi = round(d$xi), ni = d$n_patients, method = "ML")
  glmm[[length(glmm) + 1]] <- list(case = sprintf("%s_%gy", ep, h), estimate = as.numeric(gm$b[1]),
    se = gm$se, ci_lb = gm$ci.lb, ci_ub = gm$ci.ub, tau2 = gm$tau2, I2 = gm$I2, H2 = gm$H2,
    nAGQ = 7L)  # metafor 3.8 rma.glmm default for PLO (glmer nAGQ)
  # moderator test: particle group, common tau^2 (REML); KH F test and Wald QM
  if (length(unique(d$particle_group)) > 1) {
    for (ci in CIS) {
      mr <- rma(yi, vi, mods = ~ factor(particle_group), data = d, method = "REML",
                test = test_of(ci), control = ctrl)
      moderators[[length(moderators) + 1]] <- list(case = sprintf("%s_%gy_particle_group_%s", ep, h, ci),
        endpoint = ep, horizon = h, moderator = "particle_group", ci = ci, QM = mr$QM,
        QMdf = as.numeric(mr$QMdf[!is.na(mr$QMdf)]), QMp = mr$QMp, tau2 = mr$tau2, QE = mr$QE,
        QEp = mr$QEp, I2 = mr$I2, R2 = if (is.null(mr$R2)) NA else mr$R2, b = as.numeric(mr$b),
        se = mr$se, coef_names = rownames(mr$b))
    }
    # between-subgroup Q on separately pooled subgroups (each REML, Wald SE), then FE over groups
    sg <- split(d, d$particle_group)
    est <- sapply(sg, function(x) { r <- rma(yi, vi, data = x, method = "REML", control = ctrl); r$b[1] })
    sei <- sapply(sg, function(x) { r <- rma(yi, vi, data = x, method = "REML", control = ctrl); r$se })
    fe <- rma(est, sei = sei, method = "FE")
    between[[length(between) + 1]] <- list(case = sprintf("%s_%gy_particle_group", ep, h),
      groups = names(sg), estimate = as.numeric(est), se = as.numeric(sei), Q = fe$QE,
      df = fe$k - 1, p = fe$QEp)
  }
  for (ci in CIS) {
    mr <- rma(yi, vi, mods = ~ year, data = d, method = "REML", test = test_of(ci), control = ctrl)
    metareg[[length(metareg) + 1]] <- list(case = sprintf("%s_%gy_year_%s", ep, h, ci), ci = ci,
      b = as.numeric(mr$b), se = mr$se, ci_lb = mr$ci.lb, ci_ub = mr$ci.ub, QM = mr$QM,
      QMdf = as.numeric(mr$QMdf[!is.na(mr$QMdf)]), QMp = mr$QMp, tau2 = mr$tau2, QE = mr$QE,
      QEp = mr$QEp, I2 = mr$I2, R2 = if (is.null(mr$R2)) NA else mr$R2)
  }
  # benchmark: probability that a new study exceeds the benchmark under the predictive distribution
  for (bm in c(50, 60, 70)) for (ci in CIS) {
    r <- rma(yi, vi, data = d, method = "REML", test = test_of(ci), control = ctrl)
    p <- predict(r)
    sp <- sqrt(p$se^2 + r$tau2)
    zb <- (qlogis(bm / 100) - as.numeric(r$b[1])) / sp
    prob <- if (ci != "Wald") pt(zb, df = r$k - 1, lower.tail = FALSE) else pnorm(zb, lower.tail = FALSE)
    benchmark[[length(benchmark) + 1]] <- list(case = sprintf("%s_%gy_%g_%s", ep, h, bm, ci),
      endpoint = ep, horizon = h, benchmark = bm, ci = ci,
      diff = 100 * plogis(as.numeric(r$b[1])) - bm, diff_lb = 100 * plogis(r$ci.lb) - bm,
      diff_ub = 100 * plogis(r$ci.ub) - bm, prob_exceed = prob)
  }
}

# ---------------------------------------------------------------- histology strata (chordoma / other)
# Each stratum with k >= 2 pooled by REML + HKSJ and REML + Wald; the between-subgroup Q test as the
# particle-group `between` cases (each stratum REML with its Wald SE, a one-series stratum as itself,
# then FE over strata); the mixed-effects moderator test as `moderators` (when k > number of strata).
histology_pooling <- list(); histology_between <- list(); histology_moderators <- list()
for (i in seq_len(nrow(LANDMARKS))) {
  ep <- LANDMARKS$endpoint[i]; h <- LANDMARKS$horizon[i]
  d <- landmark(ep, h)
  sg <- split(d, d$histology_group)
  for (g in names(sg)) {
    dg <- sg[[g]]
    if (nrow(dg) < 2) next
    for (ci in CIS) {
      res <- rma(yi, vi, data = dg, method = "REML", test = test_of(ci), control = ctrl)
      histology_pooling[[length(histology_pooling) + 1]] <- c(list(
        case = sprintf("%s_%gy_%s_REML_%s", ep, h, g, ci), endpoint = ep, horizon = h,
        stratum = g, method = "REML", ci = ci, study_ids = I(dg$study_id)), summ(res, ci))
    }
  }
  if (length(sg) > 1) {
    est <- sapply(sg, function(x) { r <- rma(yi, vi, data = x, method = "REML", control = ctrl); r$b[1] })
    sei <- sapply(sg, function(x) { r <- rma(yi, vi, data = x, method = "REML", control = ctrl); r$se })
    fe <- rma(est, sei = sei, method = "FE")
    histology_between[[length(histology_between) + 1]] <- list(case = sprintf("%s_%gy_histology", ep, h),
      endpoint = ep, horizon = h, groups = names(sg), k = as.numeric(sapply(sg, nrow)),
      estimate = as.numeric(est), se = as.numeric(sei), Q = fe$QE, df = fe$k - 1, p = fe$QEp)
  }
  if (length(sg) > 1 && nrow(d) > length(sg)) {
    for (ci in CIS) {
      mr <- rma(yi, vi, mods = ~ factor(histology_group), data = d, method = "REML",
                test = test_of(ci), control = ctrl)
      histology_moderators[[length(histology_moderators) + 1]] <- list(
        case = sprintf("%s_%gy_histology_%s", ep, h, ci), endpoint = ep, horizon = h,
        moderator = "histology_group", ci = ci, k = mr$k, QM = mr$QM,
        QMdf = as.numeric(mr$QMdf[!is.na(mr$QMdf)]), QMp = mr$QMp, tau2 = mr$tau2, QE = mr$QE,
        QEp = mr$QEp, I2 = mr$I2, R2 = if (is.null(mr$R2)) NA else mr$R2, b = as.numeric(mr$b),
        se = mr$se, coef_names = rownames(mr$b))
    }
  }
}

# ---------------------------------------------------------------- per-series intervals (forest plot)
# Each series' Wald logit 95% CI: escalc yi +/- qnorm(.975) sqrt(vi), back-transformed to percent.
forest <- list()
for (i in seq_len(nrow(LANDMARKS))) {
  ep <- LANDMARKS$endpoint[i]; h <- LANDMARKS$horizon[i]
  d <- landmark(ep, h)
  lb <- d$yi - qnorm(.975) * sqrt(d$vi); ub <- d$yi + qnorm(.975) * sqrt(d$vi)
  forest[[length(forest) + 1]] <- list(case = sprintf("%s_%gy", ep, h), endpoint = ep, horizon = h,
    study_id = I(d$study_id), rate_percent = I(d$rate_percent), n_patients = I(d$n_patients),
    yi = I(d$yi), vi = I(d$vi), ci_lb = I(lb), ci_ub = I(ub), estimate_percent = I(100 * plogis(d$yi)),
    ci_low_percent = I(100 * plogis(lb)), ci_high_percent = I(100 * plogis(ub)))
}

# ---------------------------------------------------------------- binomial comparators of known size
# A proportion p (percent) of n patients: logit Wald CI with variance 1 / (n p (1 - p)) and the exact
# Clopper-Pearson CI of binom.test(round(n p), n) (R rounds half to even: 5.5 -> 6).
binomial <- list()
for (pn in list(c(60, 112), c(22, 112), c(45, 79), c(10, 33), c(37, 30), c(50, 11))) {
  pc <- pn[1]; n <- pn[2]; p <- pc / 100
  yi <- qlogis(p); vi <- 1 / (n * p * (1 - p))
  x <- round(n * p); bt <- binom.test(x, n)
  binomial[[length(binomial) + 1]] <- list(case = sprintf("p%g_n%g", pc, n), p_percent = pc, n = n,
    yi = yi, vi = vi, wald_lb = yi - qnorm(.975) * sqrt(vi), wald_ub = yi + qnorm(.975) * sqrt(vi),
    wald_low_percent = 100 * plogis(yi - qnorm(.975) * sqrt(vi)),
    wald_high_percent = 100 * plogis(yi + qnorm(.975) * sqrt(vi)),
    events = n * p, events_rounded = x, cp_low_percent = 100 * bt$conf.int[1],
    cp_high_percent = 100 * bt$conf.int[2])
}

# Bayesian normal-normal reference by R's integrate (independent of the Python grid):
# marginal posterior of mu by 2-D adaptive quadrature of the joint density.
bayes <- list(); bayes_wide <- list()
bayes_ref <- function(y, v, mu_sd = 10, tau_scale = 0.5, half = 6) {
  jl <- function(mu, tau) sum(dnorm(y, mu, sqrt(v + tau^2), log = TRUE)) +
    dnorm(mu, 0, mu_sd, log = TRUE) + log(2) + dnorm(tau, 0, tau_scale, log = TRUE)
  mhat <- sum(y / v) / sum(1 / v)
  c0 <- jl(mhat, 0.1)
  dens_mu <- function(mu) sapply(mu, function(m) integrate(function(t) exp(sapply(t, function(tt) jl(m, tt)) - c0),
                                                             0, Inf, rel.tol = 1e-10)$value)
  lo <- mhat - half; hi <- mhat + half
  Z <- integrate(dens_mu, lo, hi, rel.tol = 1e-10)$value
  cdf <- function(q) integrate(dens_mu, lo, q, rel.tol = 1e-10)$value / Z
  qf <- function(a) uniroot(function(q) cdf(q) - a, c(lo, hi), tol = 1e-10)$root
  # marginal posterior of tau: integrate mu out over the same range (vectorised in mu)
  jl_m <- function(m, t) colSums(dnorm(y, matrix(m, nrow = length(y), ncol = length(m), byrow = TRUE),
                                        sqrt(v + t^2), log = TRUE)) +
    dnorm(m, 0, mu_sd, log = TRUE) + log(2) + dnorm(t, 0, tau_scale, log = TRUE)
  dens_tau <- function(tau) sapply(tau, function(t) integrate(function(m) exp(jl_m(m, t) - c0), lo, hi,
                                                                rel.tol = 1e-10)$value)
  Zt <- integrate(dens_tau, 0, Inf, rel.tol = 1e-10)$value
  cdf_t <- function(q) integrate(dens_tau, 0, q, rel.tol = 1e-10)$value / Zt
  tau_med <- uniroot(function(q) cdf_t(q) - 0.5, c(0, 8 * tau_scale), tol = 1e-10)$root
  c(low = qf(0.025), median = qf(0.5), high = qf(0.975), tau_median = tau_med)
}
WIDE_TAU_SCALE <- 1  # analysis.WIDE_TAU_SCALE: the prior-sensitivity row of the pooled pages
for (i in seq_len(nrow(LANDMARKS))) {
  ep <- LANDMARKS$endpoint[i]; h <- LANDMARKS$horizon[i]
  d <- landmark(ep, h)
  groups <- c(list(all = d), split(d, d$particle_group))
  for (g in names(groups)) {
    dg <- groups[[g]]
    if (nrow(dg) >= 5 && g != "all") next
    q <- bayes_ref(dg$yi, dg$vi)
    bayes[[length(bayes) + 1]] <- list(case = sprintf("%s_%gy_%s", ep, h, g), endpoint = ep, horizon = h,
      subgroup = g, k = nrow(dg), mu_low = q[["low"]], mu_median = q[["median"]], mu_high = q[["high"]],
      tau_median = q[["tau_median"]], prior_mu_sd = 10, prior_tau_scale = 0.5, mu_range_half = 6)
    # the wider prior on tau: mu integrated over mhat +/- 15 (tau up to ~4 widens mu's posterior)
    q <- bayes_ref(dg$yi, dg$vi, tau_scale = WIDE_TAU_SCALE, half = 15)
    bayes_wide[[length(bayes_wide) + 1]] <- list(case = sprintf("%s_%gy_%s", ep, h, g), endpoint = ep,
      horizon = h, subgroup = g, k = nrow(dg), mu_low = q[["low"]], mu_median = q[["median"]],
      mu_high = q[["high"]], tau_median = q[["tau_median"]], prior_mu_sd = 10,
      prior_tau_scale = WIDE_TAU_SCALE, mu_range_half = 15)
  }
}

# ---------------------------------------------------------------- survival (ifosfamide IPD)
surv <- list()
ipd_file <- file.path(inputs_dir, "ifosfamide", "patients.csv")
if (file.exists(ipd_file)) {
  ipd <- read.csv(ipd_file, stringsAsFactors = FALSE)
  ipd$diam_gt10 <- ifelse(ipd$diameter_initial_cm > 10, ">10 cm", "<=10 cm")
  eps <- list(LC = c("lc_months", "local_failure"), OS = c("os_months", "death"))
  times_at <- c(6, 12, 24, 36, 60)
  km <- list(); lr <- list(); gw <- list()
  gw_times <- c(12, 24, 36, 60)
  for (e in names(eps)) {
    tt <- ipd[[eps[[e]][1]]]; ev <- ipd[[eps[[e]][2]]]
    f <- survfit(Surv(tt, ev) ~ 1, conf.type = "log-log")
    s <- summary(f, times = times_at, extend = TRUE)
    tau <- min(60, max(tt))
    tb <- summary(f, rmean = tau)$table
    med <- quantile(f, probs = 0.5, conf.int = TRUE)
    km[[e]] <- list(time = f$time, n_risk = f$n.risk, n_event = f$n.event, surv = f$surv,
      lower = f$lower, upper = f$upper,
      landmark_times = s$time, landmark_surv = s$surv, landmark_lower = s$lower,
      landmark_upper = s$upper, landmark_n_risk = s$n.risk,
      median = as.numeric(med$quantile), median_lower = as.numeric(med$lower),
      median_upper = as.numeric(med$upper), rmst_tau = tau, rmst = as.numeric(tb["rmean"]),
      rmst_se = as.numeric(tb["se(rmean)"]))
    # Kaplan-Meier with its plain Greenwood standard error on the survival scale (summary()$std.err)
    # and the log-log 95% CI, at 1, 2, 3 and 5 years
    sg <- summary(f, times = gw_times, extend = TRUE)
    gw[[e]] <- list(times = sg$time, surv = sg$surv, std_err = sg$std.err, lower = sg$lower,
      upper = sg$upper, n_risk = sg$n.risk, error = "greenwood", conf_type = "log-log")
    for (grp in c("grade", "setting", "diam_gt10")) {
      g <- ipd[[grp]]
      ok <- !is.na(g) & g != ""
      sd <- survdiff(Surv(tt[ok], ev[ok]) ~ g[ok])
      lr[[length(lr) + 1]] <- list(case = sprintf("%s_%s", e, grp), endpoint = e, by = grp,
        groups = sub("^g\\[ok\\]=", "", names(sd$n)), n = as.numeric(sd$n), obs = as.numeric(sd$obs),
        exp = as.numeric(sd$exp), chisq = sd$chisq, df = length(sd$n) - 1,
        p = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE))
    }
  }
  surv <- list(km = km, logrank = lr, landmark_times = times_at, greenwood = gw)
}

out <- list(
  meta = list(R_version = R.version.string, metafor = as.character(packageVersion("metafor")),
              survival = as.character(packageVersion("survival")),
              lme4 = as.character(packageVersion("lme4")),
              generated_by = "scripts/r/make_reference.R", rma_control = ctrl,
              inputs_dir = "tests/fixtures/r_inputs", inputs = inputs),
  pooling = pooling, single = single, leave1out = loo, cumul = cum, halved = halved, glmm = glmm, adhoc = adhoc,
  moderators = moderators, between = between, metareg = metareg, benchmark = benchmark,
  bayes = bayes, survival = surv, prediction_k2 = prediction_k2, histology_pooling = histology_pooling,
  histology_between = histology_between, histology_moderators = histology_moderators,
  bayes_wide = bayes_wide, forest = forest, binomial = binomial, all_series = all_series, subsets = subsets)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_file)
cat("wrote", out_file, "\n")

# --- Patient groups (the front page's clinical questions) ------------------------------------------------------
# Each series' group by the rule of sarcoma_review.data.patient_groups, written again here: chordoma when every
# patient has one (patient_group chordoma, or n_chordoma = n_patients); bone other than chordoma when
# patient_group is bone and no chordoma is counted (n_chordoma 0 or empty); soft tissue; otherwise mixed. Within a
# group, each landmark of book/analyses.yml with two or more series (the overlap rule applied among the group's
# own series) is pooled with REML and Knapp-Hartung (test "knha") and with the ad hoc correction (test "adhoc").
# Written to its own file, tests/fixtures/r_reference_groups.json.
pg_lower <- tolower(trimws(ifelse(is.na(studies$patient_group), "", studies$patient_group)))
n_ch <- suppressWarnings(as.numeric(studies$n_chordoma))
study_group <- ifelse(pg_lower == "chordoma" | (!is.na(n_ch) & n_ch == studies$n_patients & studies$n_patients > 0),
  "chordoma", ifelse(pg_lower == "bone" & (is.na(n_ch) | n_ch == 0), "bone other than chordoma",
  ifelse(pg_lower == "soft tissue", "soft tissue", "mixed")))
names(study_group) <- studies$study_id
group_pools <- list()
for (g in c("chordoma", "bone other than chordoma", "soft tissue")) {
  for (i in seq_len(nrow(LANDMARKS))) {
    ep <- LANDMARKS$endpoint[i]; h <- LANDMARKS$horizon[i]
    d <- lit[lit$endpoint == ep & lit$horizon_years == h & study_group[lit$study_id] == g, ]
    d <- independent(d)
    if (nrow(d) < 2) next
    d <- d[order(d$study_id), ]
    d$xi <- d$n_patients * d$rate_percent / 100
    es <- escalc(measure = "PLO", xi = d$xi, ni = d$n_patients, add = 1/2, to = "only0")
    d$yi <- as.numeric(es$yi); d$vi <- as.numeric(es$vi)
    for (t in c("knha", "adhoc")) {
      res <- rma(yi, vi, data = d, method = "REML", test = t, control = ctrl)
      group_pools[[length(group_pools) + 1]] <- c(list(group = g, endpoint = ep, horizon = h, test = t,
        study_ids = I(sort(d$study_id))), summ(res, if (t == "knha") "HKSJ" else "HKSJ-adhoc"))
    }
  }
}
groups_file <- file.path(root, "tests", "fixtures", "r_reference_groups.json")
writeLines(toJSON(list(meta = list(R_version = R.version.string, metafor = as.character(packageVersion("metafor")),
                                   generated_by = "scripts/r/make_reference.R (patient groups)",
                                   inputs_dir = "tests/fixtures/r_inputs", inputs = inputs),
                       group_pools = group_pools),
                  auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), groups_file)
cat("wrote", groups_file, "\n")
