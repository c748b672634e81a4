# Reference values for inometa's analysis layer (meta-regression, subgroups, sensitivity,
# small-study effects), computed by metafor 3.8-1 (and lme4 through rma.glmm).
#
# Run from the repository root:
#   Rscript tests/reference/metafor_analysis_reference.R [OUTFILE]
# Writes tests/reference/metafor_analysis_reference.json (numbers with %.17g).
#
# As in metafor_reference.R, iterative estimators run to tol = threshold = 1e-12 with
# maxiter = 10000 (passed on to the refits that leave1out, influence, cumul, gosh,
# permutest, regtest and trimfill perform), so that the comparison tests the estimators and
# not metafor's default stopping rules.
#
# Values composed here from metafor output (not a single metafor call) are marked in
# comments: the test for subgroup differences with separate tau^2 is metafor's own
# fixed-effect model on the subgroup estimates, rma(b_g, sei = se_g, method = "FE"); the
# likelihood-ratio test of moderators in the GLMM is 2 * (logLik(full) - logLik(reduced))
# from lme4's glmer fits of the same two models. (Not from rma.glmm's fit.stats: metafor 3.8
# builds its GLMM log-likelihood from lme4's deviance(), which for a GLMM is not -2 logLik,
# so differences between two rma.glmm fits can even be negative.)

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
})
source(file.path("tests", "reference", "_json.R"))
pdf(NULL)  # baujat() and gosh() draw; keep R from writing Rplots.pdf into the repository

args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else
  "tests/reference/metafor_analysis_reference.json"

ctrl <- list(tol = 1e-12, threshold = 1e-12, maxiter = 10000)
glmer_ctrl <- list(glmerCtrl = list(optimizer = "bobyqa",
                                    optCtrl = list(rhoend = 1e-10, maxfun = 1e5)))
measures <- c(raw = "PR", logit = "PLO", ft = "PFT")

# Twelve VOD-like single arms: a 0% study, one-study subgroups, a continuous moderator.
vod <- list(
  xi = c(4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7),
  ni = c(72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131),
  year = c(2017, 2019, 2023, 2024, 2024, 2024, 2013, 2018, 2023, 2023, 2021, 2024),
  setting = c("RR", "RR", "RR", "ND", "MRD", "PT", "RR", "RR", "ND", "ND", "RR", "ND"),
  regimen = c("mono", "mono", "combo", "combo", "mono", "mono", "mono", "combo", "combo",
              "combo", "mono", "combo"))
# Six CR/CRi arms with a 100% study (two years tie: 360 distinct reorderings).
cr <- list(xi = c(49, 121, 43, 119, 28, 19), ni = c(72, 164, 43, 131, 33, 32),
           year = c(2017, 2019, 2024, 2024, 2023, 2025))

es_of <- function(d, m) escalc(measure = m, xi = d$xi, ni = d$ni)
coefs <- function(r) list(b = arr(c(r$b)), se = arr(r$se), zval = arr(r$zval),
                          pval = arr(r$pval), ci_lb = arr(r$ci.lb), ci_ub = arr(r$ci.ub))

# --- meta-regression (rma.uni with moderators) -------------------------------------------
metareg <- list()
for (tname in names(measures)) {
  es <- es_of(vod, measures[[tname]])
  for (meth in c("REML", "DL", "ML", "PM")) {
    for (tst in c(z = "z", hk = "knha")) {
      for (mods in c("year", "year+regimen")) {
        f <- as.formula(paste("~", mods))
        dat <- data.frame(yi = es$yi, vi = es$vi, year = vod$year, regimen = vod$regimen)
        r <- rma(yi, vi, mods = f, data = dat, method = meth, test = tst, control = ctrl)
        metareg[[length(metareg) + 1]] <- c(
          list(dataset = "vod", transform = tname, method = meth,
               ci_method = names(which(c(z = "z", hk = "knha") == tst)), mods = mods),
          coefs(r),
          list(QM = r$QM, QMp = r$QMp, QE = r$QE, QEp = r$QEp, tau2 = r$tau2, I2 = r$I2,
               H2 = r$H2, R2 = r$R2))
      }
    }
  }
}

# --- permutation test (exact: 360 distinct reorderings <= 1000) ---------------------------
# threshold = 1e-10 here: with 1e-12 (an absolute threshold on tau^2 ~ 0.4) metafor's Fisher
# scoring never converges on 3 of the 360 reorderings (successive values differ by rounding
# noise), and permutest silently drops them; 1e-10 lets all 360 converge to the same maxima.
es <- es_of(cr, "PLO")
r <- rma(es$yi, es$vi, mods = ~ cr$year, method = "REML",
         control = list(tol = 1e-12, threshold = 1e-10, maxiter = 10000))
pt <- permutest(r, iter = 1000)
permutation <- list(dataset = "cr", transform = "logit", method = "REML", mods = "year",
                    pval = arr(pt$pval), QMp = pt$QMp, iterations = 360)

# --- GLMM meta-regression -----------------------------------------------------------------
glmm_reg <- list()
for (nagq in c(7, 21)) {
  for (mods in c("year", "regimen")) {
    f <- as.formula(paste("~", mods))
    dat <- data.frame(xi = vod$xi, ni = vod$ni, year = vod$year, regimen = vod$regimen)
    full <- rma.glmm(measure = "PLO", xi = xi, ni = ni, mods = f, data = dat, nAGQ = nagq,
                     control = glmer_ctrl)
    study <- factor(seq_along(vod$xi))
    mod <- dat[[mods]]
    gctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
    g1 <- glmer(cbind(xi, ni - xi) ~ mod + (1 | study), data = dat, family = binomial,
                nAGQ = nagq, control = gctrl)
    g0 <- glmer(cbind(xi, ni - xi) ~ 1 + (1 | study), data = dat, family = binomial,
                nAGQ = nagq, control = gctrl)
    glmm_reg[[length(glmm_reg) + 1]] <- c(
      list(dataset = "vod", nagq = nagq, mods = mods),
      coefs(full),
      list(tau2 = full$tau2, QM = full$QM, QMp = full$QMp, QE_Wld = full$QE.Wld,
           QE_LRT = full$QE.LRT, I2 = full$I2,
           # composed: likelihood-ratio test of the moderators (lme4 log-likelihoods)
           LRT = 2 * (as.numeric(logLik(g1)) - as.numeric(logLik(g0)))))
  }
}

# --- subgroups ----------------------------------------------------------------------------
subgroups <- list()
for (tname in c("logit", "raw")) {
  es <- es_of(vod, measures[[tname]])
  for (g in c("regimen", "setting")) {
    grp <- vod[[g]]
    levels <- unique(grp)  # order of first appearance
    for (meth in c("REML", "DL")) {
      sep_b <- sep_se <- sep_tau2 <- numeric(0)
      for (lv in levels) {
        sub <- grp == lv
        rs <- rma(es$yi[sub], es$vi[sub], method = meth, control = ctrl)
        sep_b <- c(sep_b, c(rs$b)); sep_se <- c(sep_se, rs$se); sep_tau2 <- c(sep_tau2, rs$tau2)
      }
      # composed: fixed-effect Q between the subgroup estimates
      qb <- rma(sep_b, sei = sep_se, method = "FE")
      common <- rma(es$yi, es$vi, mods = ~ factor(grp), method = meth, control = ctrl)
      com_b <- com_se <- numeric(0)
      for (lv in levels) {
        sub <- grp == lv
        rc <- rma(es$yi[sub], es$vi[sub], tau2 = common$tau2, control = ctrl)
        com_b <- c(com_b, c(rc$b)); com_se <- c(com_se, rc$se)
      }
      subgroups[[length(subgroups) + 1]] <- list(
        dataset = "vod", transform = tname, groups = g, method = meth,
        levels = arr(levels), separate_b = arr(sep_b), separate_se = arr(sep_se),
        separate_tau2 = arr(sep_tau2), Q_between = qb$QE, Q_between_p = qb$QEp,
        QM = common$QM, QMp = common$QMp, common_tau2 = common$tau2,
        common_b = arr(com_b), common_se = arr(com_se))
    }
  }
}

# --- leave-one-out, influence, Baujat, cumulative -----------------------------------------
sens_cases <- list(c("logit", "REML", "z"), c("logit", "REML", "knha"), c("raw", "DL", "z"),
                   c("ft", "PM", "z"))
sensitivity <- list()
for (case in sens_cases) {
  es <- es_of(vod, measures[[case[1]]])
  r <- rma(es$yi, es$vi, method = case[2], test = case[3], control = ctrl)
  l <- leave1out(r)
  inf <- influence(r)
  b <- baujat(r)
  cu <- cumul(r, order = vod$year)
  sensitivity[[length(sensitivity) + 1]] <- list(
    dataset = "vod", transform = case[1], method = case[2],
    ci_method = ifelse(case[3] == "knha", "hk", "z"),
    loo = list(estimate = arr(l$estimate), se = arr(l$se), ci_lb = arr(l$ci.lb),
               ci_ub = arr(l$ci.ub), tau2 = arr(l$tau2), I2 = arr(l$I2), H2 = arr(l$H2),
               Q = arr(l$Q), Qp = arr(l$Qp)),
    influence = list(rstudent = arr(inf$inf$rstudent), dffits = arr(inf$inf$dffits),
                     cook_d = arr(inf$inf$cook.d), cov_r = arr(inf$inf$cov.r),
                     tau2_del = arr(inf$inf$tau2.del), QE_del = arr(inf$inf$QE.del),
                     hat = arr(inf$inf$hat), weight = arr(inf$inf$weight),
                     dfbetas = arr(inf$dfbs$intrcpt), influential = arr(as.numeric(inf$is.infl))),
    baujat = list(x = arr(b$x), y = arr(b$y)),
    cumul = list(estimate = arr(cu$estimate), se = arr(cu$se), ci_lb = arr(cu$ci.lb),
                 ci_ub = arr(cu$ci.ub), tau2 = arr(cu$tau2), I2 = arr(cu$I2)))
}

# --- GOSH (all 63 subsets of the six CR/CRi arms) -----------------------------------------
gosh_out <- list()
es <- es_of(cr, "PLO")
for (meth in c("DL", "REML", "ML", "PM", "EB", "HE", "HS", "SJ")) {
  r <- rma(es$yi, es$vi, method = meth, control = ctrl)
  g <- gosh(r)
  gosh_out[[length(gosh_out) + 1]] <- list(
    dataset = "cr", transform = "logit", method = meth,
    k = arr(g$res$k), QE = arr(g$res$QE), I2 = arr(g$res$I2), H2 = arr(g$res$H2),
    tau2 = arr(g$res$tau2), estimate = arr(g$res$estimate),
    incl = lapply(seq_len(nrow(g$incl)), function(i) arr(as.numeric(g$incl[i, ]))))
}

# --- small-study effects ------------------------------------------------------------------
bias <- list()
for (case in list(c("logit", "REML", "z"), c("logit", "REML", "knha"), c("raw", "DL", "z"),
                  c("ft", "REML", "z"))) {
  es <- es_of(vod, measures[[case[1]]])
  r <- rma(es$yi, es$vi, ni = vod$ni, method = case[2], test = case[3], control = ctrl)
  eg <- regtest(r)
  eg_lm <- regtest(r, model = "lm")
  pe <- regtest(r, model = "lm", predictor = "ninv")
  rk <- ranktest(r)
  tf <- trimfill(r, control = ctrl)
  tf_r0 <- trimfill(r, estimator = "R0", control = ctrl)
  tf_left <- trimfill(r, side = "left", control = ctrl)
  tfl <- function(t) list(k0 = t$k0, se_k0 = t$se.k0, side = t$side, b = c(t$b), se = t$se,
                          tau2 = t$tau2, p_k0 = t$p.k0,
                          filled_yi = arr(if (t$k0 > 0) tail(c(t$yi), t$k0) else numeric(0)))
  bias[[length(bias) + 1]] <- list(
    dataset = "vod", transform = case[1], method = case[2],
    ci_method = ifelse(case[3] == "knha", "hk", "z"),
    egger = list(zval = eg$zval, pval = eg$pval, est = eg$est, ci_lb = eg$ci.lb,
                 ci_ub = eg$ci.ub),
    egger_lm = list(zval = eg_lm$zval, pval = eg_lm$pval, df = eg_lm$ddf, est = eg_lm$est,
                    ci_lb = eg_lm$ci.lb, ci_ub = eg_lm$ci.ub),
    peters = list(zval = pe$zval, pval = pe$pval, df = pe$ddf, est = pe$est),
    ranktest = list(tau = unname(rk$tau), pval = rk$pval),
    trimfill = tfl(tf), trimfill_r0 = tfl(tf_r0), trimfill_left = tfl(tf_left))
}
# Trim-and-fill on the right for the funnel-plot tests' data (tests/plots_support.py): sixteen
# synthetic studies, and the six CR/CRi arms above; logit, REML, z (metaprop's defaults).
s16 <- list(xi = c(92, 35, 106, 97, 178, 46, 114, 99, 115, 75, 12, 47, 63, 135, 180, 46),
            ni = c(126, 48, 219, 111, 238, 73, 209, 135, 208, 114, 23, 88, 75, 192, 237, 79))
trimfill_right <- list()
for (dname in c("s16", "cr")) {
  d <- list(s16 = s16, cr = cr)[[dname]]
  es <- es_of(d, "PLO")
  r <- rma(es$yi, es$vi, method = "REML", control = ctrl)
  trimfill_right[[dname]] <- tfl(trimfill(r, side = "right", control = ctrl))
}

# Kendall's tau with ties in vi (equal n): the normal approximation
ties <- list(xi = c(10, 10, 15, 9, 20, 11, 14, 30, 15),
             ni = c(100, 100, 100, 100, 100, 50, 50, 50, 100))
es <- es_of(ties, "PLO")
rk <- ranktest(rma(es$yi, es$vi, control = ctrl))
ranktest_ties <- list(dataset = "ties", tau = unname(rk$tau), pval = rk$pval)

out <- list(
  generated_by = "tests/reference/metafor_analysis_reference.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  metafor_version = as.character(packageVersion("metafor")),
  lme4_version = as.character(packageVersion("lme4")),
  datasets = list(
    vod = list(events = arr(vod$xi), n = arr(vod$ni), year = arr(vod$year),
               setting = arr(vod$setting), regimen = arr(vod$regimen)),
    cr = list(events = arr(cr$xi), n = arr(cr$ni), year = arr(cr$year)),
    ties = list(events = arr(ties$xi), n = arr(ties$ni)),
    s16 = list(events = arr(s16$xi), n = arr(s16$ni))),
  metareg = metareg, permutation = permutation, glmm_reg = glmm_reg, subgroups = subgroups,
  sensitivity = sensitivity, gosh = gosh_out, bias = bias, ranktest_ties = ranktest_ties,
  trimfill_right = trimfill_right)

writeLines(to_json(out), outfile)
cat("wrote", outfile, "\n")
