# Reference values for inometa's engine, computed by metafor (and lme4 through rma.glmm).
#
# Run from the repository root:   Rscript tests/reference/metafor_reference.R [OUTFILE]
# Writes tests/reference/metafor_reference.json (or OUTFILE) with every number printed with
# %.17g. Needs only base R, metafor (Debian r-cran-metafor) and lme4 (r-cran-lme4).
#
# Convergence: metafor's defaults stop Fisher scoring at a change of 1e-5 and uniroot (PM,
# Q-profile) at about 1.2e-4, which would test metafor's stopping rule rather than the
# estimator. All fits therefore use tol = threshold = 1e-12 and maxiter = 10000, and the same
# tol in confint(). rma.glmm runs lme4's glmer with bobyqa in both stages and its final trust
# region tightened (rhoend = 1e-10): lme4's default second stage (Nelder-Mead, FtolAbs = 1e-5)
# stops far enough from the maximum to blur a 1e-4 comparison. The likelihood maximised (nAGQ
# adaptive Gauss-Hermite nodes) is unchanged; only its maximum is located more precisely.
#
# Where metafor has no switch for a combination inometa offers (a z-based prediction interval
# around a Hartung-Knapp fit), the bound is composed here from metafor's own estimate, SE and
# tau^2 (pred -/+ qnorm(0.975) * sqrt(se^2 + tau2)); such entries are listed under "composed".

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
})

args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else "tests/reference/metafor_reference.json"

source(file.path("tests", "reference", "_json.R"))

# --- datasets ---------------------------------------------------------------------------
nw <- metadat::dat.nielweise2007
datasets <- list(
  # a 0% study, a 100% study and very unequal n (5 to 600)
  mixed = list(xi = c(0, 3, 12, 30, 48, 19, 7, 25), ni = c(14, 5, 40, 100, 600, 25, 7, 60)),
  # CR/CRi counts from InO trials (data/examples/cr_cri.csv), one 100% study
  ino_cr = list(xi = c(49, 121, 43, 119, 28, 19), ni = c(72, 164, 43, 131, 33, 32)),
  # rare events with a 0% study (VOD-like)
  rare = list(xi = c(4, 23, 10, 1, 2, 0, 6), ni = c(72, 164, 110, 43, 26, 18, 36)),
  # homogeneous: every estimator truncates tau^2 at 0, Q-profile CI is {0}
  homog = list(xi = c(10, 11, 12, 10, 11), ni = c(100, 100, 100, 100, 100)),
  # two studies
  k2 = list(xi = c(12, 30), ni = c(40, 50)),
  # Stijnen, Hamza & Ozdemir (2010): Nielweise et al. (2007) control and treatment arms
  nielweise_control = list(xi = nw$ci, ni = nw$n2i),
  nielweise_treatment = list(xi = nw$ai, ni = nw$n1i)
)

measures <- c(raw = "PR", log = "PLN", logit = "PLO", arcsine = "PAS", ft = "PFT")
methods <- c("DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
tests <- c(z = "z", hk = "knha", hk_adhoc = "adhoc")
ctrl <- list(tol = 1e-12, threshold = 1e-12, maxiter = 10000)
level <- 0.95
zcrit <- qnorm(1 - (1 - level) / 2)

backtransform <- function(measure, ni) {
  switch(measure,
    PR = list(f = function(x) x, targs = NULL),
    PLN = list(f = exp, targs = NULL),
    PLO = list(f = transf.ilogit, targs = NULL),
    PAS = list(f = transf.iarcsin, targs = NULL),
    PFT = list(f = transf.ipft.hm, targs = list(ni = ni)))
}

uni <- list()
fe <- list()
escalc_out <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  k <- length(d$xi)
  for (tname in names(measures)) {
    m <- measures[[tname]]
    es <- escalc(measure = m, xi = d$xi, ni = d$ni)
    escalc_out[[length(escalc_out) + 1]] <- list(
      dataset = dname, transform = tname, yi = arr(c(es$yi)), vi = arr(c(es$vi)))
    res_fe <- rma(es$yi, es$vi, method = "FE")
    fe[[length(fe) + 1]] <- list(
      dataset = dname, transform = tname, b = c(res_fe$b), se = res_fe$se,
      ci_lb = res_fe$ci.lb, ci_ub = res_fe$ci.ub)
    for (meth in methods) {
      ci_tau <- NULL
      for (tst in names(tests)) {
        res <- rma(es$yi, es$vi, method = meth, test = tests[[tst]], control = ctrl)
        if (is.null(ci_tau) && k >= 2) {
          ci <- confint(res, control = list(tol = 1e-12))$random
          ci_tau <- list(tau2 = arr(ci["tau^2", 2:3]), I2 = arr(ci["I^2(%)", 2:3]),
                         H2 = arr(ci["H^2", 2:3]))
        }
        p_default <- predict(res)
        p_t <- predict(res, pi.type = "t")
        p_riley <- predict(res, pi.type = "riley")
        pis <- list()
        composed <- character(0)
        if (tst == "z") {
          pis$z <- arr(c(p_default$pi.lb, p_default$pi.ub))
        } else {
          half <- zcrit * sqrt(res$se^2 + res$tau2)
          pis$z <- arr(c(c(res$b) - half, c(res$b) + half))
          composed <- c(composed, "pi.z")
        }
        pis$t <- arr(c(p_t$pi.lb, p_t$pi.ub))
        # metafor silently uses df = 1 for pi.type = "riley" when k - 2 < 1; inometa leaves
        # that prediction interval undefined, so no reference value is stored there.
        pis$hts <- if (k >= 3) arr(c(p_riley$pi.lb, p_riley$pi.ub)) else NULL
        bt <- backtransform(m, d$ni)
        pp <- predict(res, transf = bt$f, targs = bt$targs)
        uni[[length(uni) + 1]] <- list(
          dataset = dname, transform = tname, method = meth, ci_method = tst,
          b = c(res$b), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
          zval = res$zval, pval = res$pval,
          tau2 = res$tau2, se_tau2 = res$se.tau2,
          QE = res$QE, QEp = res$QEp, I2 = res$I2, H2 = res$H2, vt = res$vt,
          pi = pis,
          prop = list(pred = pp$pred, ci_lb = pp$ci.lb, ci_ub = pp$ci.ub,
                      pi_lb = pp$pi.lb, pi_ub = pp$pi.ub),
          confint = ci_tau,
          composed = arr(composed))
      }
    }
  }
}

# --- GLMM (rma.glmm, measure PLO, ML, lme4 adaptive Gauss-Hermite) --------------------------
glmm_sets <- c("mixed", "ino_cr", "rare", "k2", "nielweise_control", "nielweise_treatment")
glmm <- list()
for (dname in glmm_sets) {
  d <- datasets[[dname]]
  for (nagq in c(7, 21)) {
    res <- rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, method = "ML", nAGQ = nagq,
                    control = list(glmerCtrl = list(optimizer = "bobyqa",
                                                    optCtrl = list(rhoend = 1e-10, maxfun = 1e5))))
    p <- predict(res)
    glmm[[length(glmm) + 1]] <- list(
      dataset = dname, nagq = nagq, b = c(res$b), se = res$se, tau2 = res$tau2,
      ci_lb = res$ci.lb, ci_ub = res$ci.ub, pi_lb = p$pi.lb, pi_ub = p$pi.ub,
      I2 = res$I2, H2 = res$H2, vt = res$vt,
      QE_Wld = res$QE.Wld, QEp_Wld = res$QEp.Wld, QE_LRT = res$QE.LRT, QEp_LRT = res$QEp.LRT)
  }
}

out <- list(
  generated_by = "tests/reference/metafor_reference.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  metafor_version = as.character(packageVersion("metafor")),
  lme4_version = as.character(packageVersion("lme4")),
  control = list(tol = 1e-12, threshold = 1e-12, maxiter = 10000, level = level),
  datasets = lapply(datasets, function(d) list(events = arr(d$xi), n = arr(d$ni))),
  escalc = escalc_out,
  uni = uni,
  fe = fe,
  glmm = glmm)

writeLines(to_json(out), outfile)
cat("wrote", outfile, ":", length(uni), "rma.uni fits,", length(glmm), "rma.glmm fits\n")
