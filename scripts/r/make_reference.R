#!/usr/bin/env Rscript
# Reference values for the statistics core (src/sarcoma_review/pooling.py, moderators.py, survival.py).
# Reads the committed data/ CSVs and writes tests/fixtures/r_reference.json.
# Run through scripts/regenerate_r_fixtures.sh (from the repository root). CI never runs R.
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

studies <- read.csv(file.path(root, "data", "literature", "studies.csv"), stringsAsFactors = FALSE)
outcomes <- read.csv(file.path(root, "data", "literature", "outcomes.csv"), stringsAsFactors = FALSE)
lit <- merge(outcomes[, c("study_id", "endpoint", "horizon_years", "rate_percent")],
             studies[, c("study_id", "first_author", "year", "n_patients", "particle_group")],
             by = "study_id", sort = FALSE)

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000, stepadj = 0.5)
landmark <- function(ep, h) {
  d <- lit[lit$endpoint == ep & lit$horizon_years == h, ]
  d <- d[order(d$study_id), ]
  # inputs are KM rates, not counts: xi = n * p is generally non-integer (escalc accepts it)
  d$xi <- d$n_patients * d$rate_percent / 100
  es <- escalc(measure = "PLO", xi = d$xi, ni = d$n_patients, add = 1/2, to = "only0")
  d$yi <- as.numeric(es$yi); d$vi <- as.numeric(es$vi)
  d
}
test_of <- function(ci) if (ci == "HKSJ") "knha" else "z"

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
moderators <- list(); metareg <- list(); between <- list(); benchmark <- list(); single <- list()
for (ep in c("LC", "OS")) for (h in c(5, 3)) {
  d <- landmark(ep, h)
  groups <- c(list(all = d), split(d, d$particle_group))
  for (g in names(groups)) {
    dg <- groups[[g]]
    if (nrow(dg) == 1) {
      single[[length(single) + 1]] <- list(case = sprintf("%s_%gy_%s", ep, h, g), endpoint = ep,
        horizon = h, subgroup = g, yi = dg$yi, vi = dg$vi,
        ci_lb = dg$yi - qnorm(.975) * sqrt(dg$vi), ci_ub = dg$yi + qnorm(.975) * sqrt(dg$vi))
      next
    }
    for (m in c("REML", "DL", "PM")) for (ci in c("HKSJ", "Wald")) {
      res <- rma(yi, vi, data = dg, method = m, test = test_of(ci), control = ctrl)
      pooling[[length(pooling) + 1]] <- c(list(case = sprintf("%s_%gy_%s_%s_%s", ep, h, g, m, ci),
        endpoint = ep, horizon = h, subgroup = g, method = m, ci = ci), summ(res, ci))
    }
  }
  res <- rma(yi, vi, data = d, method = "REML", test = "knha", control = ctrl)
  l1 <- leave1out(res)
  loo[[length(loo) + 1]] <- list(case = sprintf("%s_%gy", ep, h), omitted = d$study_id,
    estimate = l1$estimate, se = l1$se, ci_lb = l1$ci.lb, ci_ub = l1$ci.ub, tau2 = l1$tau2,
    I2 = l1$I2, H2 = l1$H2, QE = l1$Q, QEp = l1$Qp)
  cu <- cumul(res, order = d$year)
  cum[[length(cum) + 1]] <- list(case = sprintf("%s_%gy", ep, h), added = d$study_id[order(d$year)],
    estimate = cu$estimate, se = cu$se, ci_lb = cu$ci.lb, ci_ub = cu$ci.ub, tau2 = cu$tau2,
    I2 = cu$I2, H2 = cu$H2, QE = cu$Q, QEp = cu$Qp)
  # HKSJ with the Knapp-Hartung ad hoc correction (scale factor truncated at 1): metafor test = "adhoc"
  ra <- rma(yi, vi, data = d, method = "REML", test = "adhoc", control = ctrl)
  adhoc[[length(adhoc) + 1]] <- c(list(case = sprintf("%s_%gy", ep, h)), summ(ra, "HKSJ-adhoc"))
  # halved effective sample size
  eh <- escalc(measure = "PLO", xi = d$xi / 2, ni = d$n_patients / 2, add = 1/2, to = "only0")
  rh <- rma(eh$yi, eh$vi, method = "REML", test = "knha", control = ctrl)
  halved[[length(halved) + 1]] <- c(list(case = sprintf("%s_%gy", ep, h)), summ(rh, "HKSJ"))
  # GLMM on rounded events, ML, nAGQ = 7 (metafor default)
  gm <- rma.glmm(measure = "PLO", xi = round(d$xi), ni = d$n_patients, method = "ML")
  glmm[[length(glmm) + 1]] <- list(case = sprintf("%s_%gy", ep, h), estimate = as.numeric(gm$b[1]),
    se = gm$se, ci_lb = gm$ci.lb, ci_ub = gm$ci.ub, tau2 = gm$tau2, I2 = gm$I2, H2 = gm$H2,
    nAGQ = 7L)  # metafor 3.8 rma.glmm default for PLO (glmer nAGQ)
  # moderator test: particle group, common tau^2 (REML); KH F test and Wald QM
  if (length(unique(d$particle_group)) > 1) {
    for (ci in c("HKSJ", "Wald")) {
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
  for (ci in c("HKSJ", "Wald")) {
    mr <- rma(yi, vi, mods = ~ year, data = d, method = "REML", test = test_of(ci), control = ctrl)
    metareg[[length(metareg) + 1]] <- list(case = sprintf("%s_%gy_year_%s", ep, h, ci), ci = ci,
      b = as.numeric(mr$b), se = mr$se, ci_lb = mr$ci.lb, ci_ub = mr$ci.ub, QM = mr$QM,
      QMdf = as.numeric(mr$QMdf[!is.na(mr$QMdf)]), QMp = mr$QMp, tau2 = mr$tau2, QE = mr$QE,
      QEp = mr$QEp, I2 = mr$I2, R2 = if (is.null(mr$R2)) NA else mr$R2)
  }
  # benchmark: probability that a new study exceeds the benchmark under the predictive distribution
  for (bm in c(50, 60, 70)) for (ci in c("HKSJ", "Wald")) {
    r <- rma(yi, vi, data = d, method = "REML", test = test_of(ci), control = ctrl)
    p <- predict(r)
    sp <- sqrt(p$se^2 + r$tau2)
    zb <- (qlogis(bm / 100) - as.numeric(r$b[1])) / sp
    prob <- if (ci == "HKSJ") pt(zb, df = r$k - 1, lower.tail = FALSE) else pnorm(zb, lower.tail = FALSE)
    benchmark[[length(benchmark) + 1]] <- list(case = sprintf("%s_%gy_%g_%s", ep, h, bm, ci),
      endpoint = ep, horizon = h, benchmark = bm, ci = ci,
      diff = 100 * plogis(as.numeric(r$b[1])) - bm, diff_lb = 100 * plogis(r$ci.lb) - bm,
      diff_ub = 100 * plogis(r$ci.ub) - bm, prob_exceed = prob)
  }
}

# Bayesian normal-normal reference by R's integrate (independent of the Python grid):
# marginal posterior of mu by 2-D adaptive quadrature of the joint density.
bayes <- list()
bayes_ref <- function(y, v, mu_sd = 10, tau_scale = 0.5) {
  jl <- function(mu, tau) sum(dnorm(y, mu, sqrt(v + tau^2), log = TRUE)) +
    dnorm(mu, 0, mu_sd, log = TRUE) + log(2) + dnorm(tau, 0, tau_scale, log = TRUE)
  mhat <- sum(y / v) / sum(1 / v)
  c0 <- jl(mhat, 0.1)
  dens_mu <- function(mu) sapply(mu, function(m) integrate(function(t) exp(sapply(t, function(tt) jl(m, tt)) - c0),
                                                             0, Inf, rel.tol = 1e-10)$value)
  lo <- mhat - 6; hi <- mhat + 6
  Z <- integrate(dens_mu, lo, hi, rel.tol = 1e-10)$value
  cdf <- function(q) integrate(dens_mu, lo, q, rel.tol = 1e-10)$value / Z
  qf <- function(a) uniroot(function(q) cdf(q) - a, c(lo, hi), tol = 1e-10)$root
  c(low = qf(0.025), median = qf(0.5), high = qf(0.975))
}
for (ep in c("LC", "OS")) for (h in c(5, 3)) {
  d <- landmark(ep, h)
  groups <- c(list(all = d), split(d, d$particle_group))
  for (g in names(groups)) {
    dg <- groups[[g]]
    if (nrow(dg) >= 5 && g != "all") next
    q <- bayes_ref(dg$yi, dg$vi)
    bayes[[length(bayes) + 1]] <- list(case = sprintf("%s_%gy_%s", ep, h, g), endpoint = ep, horizon = h,
      subgroup = g, k = nrow(dg), mu_low = q[["low"]], mu_median = q[["median"]], mu_high = q[["high"]])
  }
}

# ---------------------------------------------------------------- survival (ifosfamide IPD)
surv <- list()
ipd_file <- file.path(root, "data", "ifosfamide", "patients.csv")
if (file.exists(ipd_file)) {
  ipd <- read.csv(ipd_file, stringsAsFactors = FALSE)
  ipd$diam_gt10 <- ifelse(ipd$diameter_initial_cm > 10, ">10 cm", "<=10 cm")
  eps <- list(LC = c("lc_months", "local_failure"), OS = c("os_months", "death"))
  times_at <- c(6, 12, 24, 36, 60)
  km <- list(); lr <- list()
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
  surv <- list(km = km, logrank = lr, landmark_times = times_at)
}

out <- list(
  meta = list(R_version = R.version.string, metafor = as.character(packageVersion("metafor")),
              survival = as.character(packageVersion("survival")),
              lme4 = as.character(packageVersion("lme4")),
              generated_by = "scripts/r/make_reference.R", rma_control = ctrl),
  pooling = pooling, single = single, leave1out = loo, cumul = cum, halved = halved, glmm = glmm, adhoc = adhoc,
  moderators = moderators, between = between, metareg = metareg, benchmark = benchmark,
  bayes = bayes, survival = surv)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
