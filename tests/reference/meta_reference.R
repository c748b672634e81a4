# Reference values for inometa's profile="meta", computed by R meta's metaprop() itself.
#
# Run from the repository root:   Rscript tests/reference/meta_reference.R [OUTFILE]
# Writes tests/reference/meta_reference.json (or OUTFILE) with every number printed with
# %.17g. Needs R meta 8.0-2 (with metafor, lme4 and CompQuadForm). R meta is not packaged by
# Debian and CI reaches no CRAN. The committed JSON was written with meta 8.0-2 as installed on
# the development machine (user library); elsewhere it can be installed from the source of the
# guido-s/meta repository at its 8.0-2 release, after CompQuadForm from CRAN's read-only GitHub
# mirror (R CMD INSTALL on each source tree). The version used is recorded in the JSON
# (meta_version) and checked by the test.
#
# What is compared: metaprop()'s own output fields (TE.*, seTE.*, lower.*/upper.*, tau2, Q,
# I2, H, the prediction interval, the study CIs, the subgroup estimates and tests), never
# anything recomputed here. Each fit records the metaprop() arguments that produced it, and
# the test maps those to inometa's options (tests/test_reference_meta.py).
#
# Convergence: meta passes `control` to metafor's rma.uni; metafor's defaults stop Fisher
# scoring at a change of 1e-5, which would test metafor's stopping rule rather than the
# estimator, so inverse-variance fits use tol = threshold = 1e-12 and maxiter = 10000 (as
# metafor_reference.R). GLMM fits run with meta's defaults (rma.glmm, nAGQ = 7, lme4's own
# optimiser settings): they are compared at meta's own tolerance.

suppressPackageStartupMessages({
  library(meta)
})

args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else "tests/reference/meta_reference.json"

source(file.path("tests", "reference", "_json.R"))

# --- datasets ---------------------------------------------------------------------------
nw <- metadat::dat.nielweise2007
datasets <- list(
  # a 0% study, a 100% study and very unequal n (5 to 600)
  mixed = list(xi = c(0, 3, 12, 30, 48, 19, 7, 25), ni = c(14, 5, 40, 100, 600, 25, 7, 60),
               group = c("a", "a", "a", "b", "b", "b", "b", "a")),
  # CR/CRi counts from InO trials (data/examples/cr_cri.csv), one 100% study
  ino_cr = list(xi = c(49, 121, 43, 119, 28, 19), ni = c(72, 164, 43, 131, 33, 32),
                group = c("RR", "RR", "ND", "ND", "ND", "RR")),
  # rare events with a 0% study (VOD-like)
  rare = list(xi = c(4, 23, 10, 1, 2, 0, 6), ni = c(72, 164, 110, 43, 26, 18, 36),
              group = c("x", "x", "x", "y", "y", "y", "x")),
  # homogeneous: every estimator truncates tau^2 at 0
  homog = list(xi = c(10, 11, 12, 10, 11), ni = c(100, 100, 100, 100, 100),
               group = c("a", "a", "b", "b", "b")),
  # two studies
  k2 = list(xi = c(12, 30), ni = c(40, 50), group = c("a", "b")),
  # Stijnen, Hamza & Ozdemir (2010): Nielweise et al. (2007) control arms
  nielweise_control = list(xi = nw$ci, ni = nw$n2i,
                           group = ifelse(seq_along(nw$ci) %% 2 == 0, "even", "odd"))
)
# The Lao 2025 analysis sets as inometa.data.analysis_set("lao2025", outcome) gives them
# (the test checks these counts against the extracted data), with the setting subgroup.
lao <- list(
  orr = list(xi = c(52, 49, 121, 73, 91, 32, 43, 118), ni = c(90, 72, 164, 74, 110, 33, 43, 131)),
  cr = list(xi = c(17, 23, 69), ni = c(90, 72, 110)),
  cr_cri = list(xi = c(44, 49, 121, 15, 73, 32, 43, 118), ni = c(90, 72, 164, 18, 74, 33, 43, 131)),
  mrd_neg = list(xi = c(41, 76, 10, 75, 30, 18), ni = c(49, 121, 18, 91, 42, 26)),
  sct = list(xi = c(36, 24, 77, 4, 53, 5), ni = c(90, 72, 164, 80, 110, 43)),
  relapse = list(xi = c(12, 2, 47), ni = c(80, 18, 119)),
  vod = list(xi = c(4, 23, 6, 10, 1, 1, 2, 0), ni = c(72, 164, 80, 110, 33, 43, 26, 18))
)

ctrl <- list(tol = 1e-12, threshold = 1e-12, maxiter = 10000)

hm <- function(n) 1 / mean(1 / n)
# meta's own back-transformation (Freeman-Tukey: harmonic mean of n, as print.meta does)
bt <- function(x, sm, n) meta:::backtransf(x, sm, n = hm(n))

# The fields of a metaprop() result compared by the test; scalars unless noted.
summarise <- function(m, d, sm) {
  first <- function(x) if (length(x) == 0) NA else unname(x[1])
  out <- list(
    TE = arr(unname(m$TE)), seTE = arr(unname(m$seTE)),
    TE_common = first(m$TE.common), seTE_common = first(m$seTE.common),
    lower_common = first(m$lower.common), upper_common = first(m$upper.common),
    TE_random = first(m$TE.random), seTE_random = first(m$seTE.random),
    lower_random = first(m$lower.random), upper_random = first(m$upper.random),
    statistic_random = first(m$statistic.random), pval_random = first(m$pval.random),
    tau2 = first(m$tau2), lower_tau2 = first(m$lower.tau2), upper_tau2 = first(m$upper.tau2),
    Q = first(m$Q), df_Q = first(m$df.Q), pval_Q = first(m$pval.Q),
    I2 = first(m$I2), lower_I2 = first(m$lower.I2), upper_I2 = first(m$upper.I2),
    H = first(m$H), lower_H = first(m$lower.H), upper_H = first(m$upper.H),
    lower_predict = first(m$lower.predict), upper_predict = first(m$upper.predict),
    df_predict = first(m$df.predict),
    prop_random = bt(first(m$TE.random), sm, d$ni),
    prop_lower_random = bt(first(m$lower.random), sm, d$ni),
    prop_upper_random = bt(first(m$upper.random), sm, d$ni),
    prop_lower_predict = bt(first(m$lower.predict), sm, d$ni),
    prop_upper_predict = bt(first(m$upper.predict), sm, d$ni))
  # Study CIs (method.ci) are proportions before meta maps them to the sm scale.
  if (sm == "PRAW") {
    out$study_lower <- arr(unname(m$lower))
    out$study_upper <- arr(unname(m$upper))
  }
  if (!is.null(m$Q) && length(m$Q) > 1) out$Q_LRT <- unname(m$Q[2])
  out
}

fits <- list()
add_fit <- function(dname, d, group, ...) {
  a <- list(...)
  is_glmm <- identical(a$method, "GLMM")
  call_args <- c(list(event = d$xi, n = d$ni), a)
  if (!is_glmm) call_args$control <- ctrl
  m <- suppressWarnings(do.call(metaprop, call_args))
  sm <- m$sm
  rec <- list(dataset = dname, group = group, args = a,
              method = m$method, method_tau = m$method.tau, sm = sm,
              method_tau_ci = if (is.null(m$method.tau.ci)) "" else m$method.tau.ci,
              method_random_ci = m$method.random.ci, method_predict = m$method.predict,
              method_ci = m$method.ci, incr = m$incr, method_incr = m$method.incr,
              incr_event = arr(unname(m$incr.event)),
              result = summarise(m, d, sm))
  fits[[length(fits) + 1]] <<- rec
}

all_sets <- c(datasets, lao)
sms <- c("PRAW", "PLN", "PLOGIT", "PAS", "PFT")
taus <- c("DL", "REML", "PM", "ML")

# 1. metaprop's defaults (sm = "PLOGIT", method = "GLMM") on every data set.
for (dname in names(all_sets)) add_fit(dname, all_sets[[dname]], "defaults")

# 2. Inverse variance: every sm x method.tau x method.random.ci, default prediction (V).
for (dname in names(datasets)) {
  for (sm in sms) for (tau in taus) for (rci in c("classic", "HK")) {
    add_fit(dname, datasets[[dname]], "inverse", sm = sm, method = "Inverse",
            method.tau = tau, method.random.ci = rci, prediction = TRUE)
  }
}

# 3. GLMM with a t-based CI (meta's method.random.ci = "HK" for a GLMM).
for (dname in names(datasets)) {
  add_fit(dname, datasets[[dname]], "glmm_hk", method = "GLMM", method.random.ci = "HK",
          prediction = TRUE)
}

# 4. Prediction intervals: S (z), HTS (t(k-2)), HK (HK SE, t(k-1)) besides the default V.
for (dname in names(datasets)) for (pm in c("S", "HTS", "HK")) for (rci in c("classic", "HK")) {
  add_fit(dname, datasets[[dname]], "predict", sm = "PLOGIT", method = "Inverse",
          method.tau = "REML", method.random.ci = rci, prediction = TRUE, method.predict = pm)
}

# 5. Study CIs (method.ci) on the raw scale.
for (dname in c("mixed", "rare", "k2")) for (mci in c("CP", "WS", "WSCC", "AC", "SA")) {
  add_fit(dname, datasets[[dname]], "study_ci", sm = "PRAW", method = "Inverse",
          method.tau = "DL", method.ci = mci)
}

# 6. Continuity corrections: incr and method.incr on the scales that use them.
for (dname in c("mixed", "rare", "homog")) for (sm in c("PRAW", "PLN", "PLOGIT")) {
  for (mi in c("only0", "if0all", "all")) for (incr in c(0.5, 0.1)) {
    add_fit(dname, datasets[[dname]], "incr", sm = sm, method = "Inverse", method.tau = "DL",
            incr = incr, method.incr = mi)
  }
}

# 7. The Lao 2025 outcomes pooled as meta does with the paper's stated method (raw
#    proportions, DerSimonian-Laird, Wald CI, HTS prediction interval).
for (dname in names(lao)) {
  add_fit(dname, lao[[dname]], "lao2025_published", sm = "PRAW", method = "Inverse",
          method.tau = "DL", method.random.ci = "classic", prediction = TRUE,
          method.predict = "HTS")
}

# --- subgroups --------------------------------------------------------------------------
subgroups <- list()
for (dname in c("mixed", "ino_cr", "rare", "nielweise_control")) {
  d <- datasets[[dname]]
  for (sm in c("PLOGIT", "PFT", "PRAW")) for (tc in c(FALSE, TRUE)) for (tau in c("DL", "REML")) {
    m <- suppressWarnings(metaprop(event = d$xi, n = d$ni, subgroup = d$group, sm = sm,
                                   method = "Inverse", method.tau = tau, tau.common = tc,
                                   control = ctrl))
    subgroups[[length(subgroups) + 1]] <- list(
      dataset = dname, sm = sm, method_tau = tau, tau_common = tc,
      levels = arr(as.character(m$subgroup.levels)),
      TE_random_w = arr(unname(m$TE.random.w)), seTE_random_w = arr(unname(m$seTE.random.w)),
      lower_random_w = arr(unname(m$lower.random.w)),
      upper_random_w = arr(unname(m$upper.random.w)),
      tau2_w = arr(unname(m$tau2.w)),
      Q_w = arr(unname(m$Q.w)), I2_w = arr(unname(m$I2.w)),
      Q_b_random = unname(m$Q.b.random), df_Q_b_random = unname(m$df.Q.b.random),
      pval_Q_b_random = unname(m$pval.Q.b.random),
      tau2_resid = if (tc) unname(m$tau2.resid) else NA)
  }
}

out <- list(
  generated_by = "tests/reference/meta_reference.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  meta_version = as.character(packageVersion("meta")),
  metafor_version = as.character(packageVersion("metafor")),
  lme4_version = as.character(packageVersion("lme4")),
  control = list(tol = 1e-12, threshold = 1e-12, maxiter = 10000),
  datasets = lapply(all_sets, function(d) list(events = arr(d$xi), n = arr(d$ni))),
  groups = lapply(datasets, function(d) arr(d$group)),
  fits = fits,
  subgroups = subgroups)

writeLines(to_json(out), outfile)
cat("wrote", outfile, ":", length(fits), "metaprop fits,", length(subgroups), "subgroup fits\n")
