# Reference values at confidence levels other than 0.95, and for every per-study CI method.
#
# Run from the repository root:   Rscript tests/reference/metafor_level_reference.R [OUTFILE]
# Writes tests/reference/metafor_level_reference.json (numbers with %.17g). Needs base R and
# metafor; fits use the same tight control as metafor_reference.R.
#
# 1. Pooled intervals at levels 0.90 and 0.99: rma(level =) with test = "z", "t", "knha" and
#    "adhoc", predict() for the prediction intervals (its default, "t" and "riley"), and
#    confint() for the Q-profile intervals of tau^2, I^2 and H^2 at the same level.
# 2. Per-study confidence intervals at levels 0.90, 0.95 and 0.99. metafor has none, so they
#    come from base R, independently of the Python code under test:
#    clopper-pearson  binom.test()$conf.int (0 at x = 0 and 1 at x = n, as binom.test gives)
#    wilson           prop.test(correct = FALSE)$conf.int
#    wilson-cc        Newcombe (1998) eq. 4 by formula (prop.test's Yates-corrected interval
#                     shrinks the correction near p = 0.5 and is not Newcombe's method 4)
#    agresti-coull    Agresti & Coull (1998): x~ = x + z^2/2, n~ = n + z^2, p~ -/+ z sqrt(p~ q~/n~)
#    jeffreys         qbeta(alpha/2 and 1 - alpha/2, x + 1/2, n - x + 1/2); 0 at x = 0 and 1
#                     at x = n (Brown, Cai & DasGupta 2001, sec. 4.1.2)
#    wald             p -/+ z sqrt(p q / n) (Newcombe's method 1)
#    All bounds are truncated to [0, 1], as inometa does.

suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else "tests/reference/metafor_level_reference.json"

source(file.path("tests", "reference", "_json.R"))

ctrl <- list(tol = 1e-12, threshold = 1e-12, maxiter = 10000)
levels <- c(0.90, 0.99)

# --- 1. pooled intervals -------------------------------------------------------------------
datasets <- list(
  # CR/CRi counts from InO trials (data/examples/cr_cri.csv), one 100% study
  ino_cr = list(xi = c(49, 121, 43, 119, 28, 19), ni = c(72, 164, 43, 131, 33, 32)),
  # a 0% study, a 100% study and very unequal n
  mixed = list(xi = c(0, 3, 12, 30, 48, 19, 7, 25), ni = c(14, 5, 40, 100, 600, 25, 7, 60)))
measures <- c(logit = "PLO", ft = "PFT")
tests <- c(z = "z", t = "t", hk = "knha", hk_adhoc = "adhoc")

pooled <- list()
for (dname in names(datasets)) {
  d <- datasets[[dname]]
  for (tname in names(measures)) {
    es <- escalc(measure = measures[[tname]], xi = d$xi, ni = d$ni)
    for (meth in c("REML", "DL")) {
      for (lev in levels) {
        for (tst in names(tests)) {
          res <- rma(es$yi, es$vi, method = meth, test = tests[[tst]], level = 100 * lev,
                     control = ctrl)
          p_default <- predict(res)
          p_t <- predict(res, pi.type = "t")
          p_riley <- predict(res, pi.type = "riley")
          ci <- confint(res, control = list(tol = 1e-12))$random
          pooled[[length(pooled) + 1]] <- list(
            dataset = dname, transform = tname, method = meth, ci_method = tst, level = lev,
            b = c(res$b), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub, tau2 = res$tau2,
            # the default PI uses the CI's quantile: z for test = "z", t(k - 1) otherwise
            pi_default = arr(c(p_default$pi.lb, p_default$pi.ub)),
            pi_t = arr(c(p_t$pi.lb, p_t$pi.ub)),
            pi_hts = arr(c(p_riley$pi.lb, p_riley$pi.ub)),
            tau2_ci = arr(ci["tau^2", 2:3]), I2_ci = arr(ci["I^2(%)", 2:3]),
            H2_ci = arr(ci["H^2", 2:3]))
        }
      }
    }
  }
}

# --- 2. per-study confidence intervals ------------------------------------------------------
xi <- c(0, 1, 5, 19, 20, 0, 1, 3, 81, 15, 1, 250)
ni <- c(20, 20, 20, 20, 20, 1, 1, 500, 263, 148, 29, 250)
clip <- function(v) pmin(1, pmax(0, v))
study_ci <- function(x, n, lev, method) {
  alpha <- 1 - lev
  z <- qnorm(1 - alpha / 2)
  p <- x / n
  q <- 1 - p
  switch(method,
    "clopper-pearson" = as.numeric(binom.test(x, n, conf.level = lev)$conf.int),
    # (prop.test warns that its chi-squared approximation may be poor for small n; the
    # interval it returns is still Wilson's, which is what is wanted here)
    "wilson" = as.numeric(suppressWarnings(
      prop.test(x, n, conf.level = lev, correct = FALSE))$conf.int),
    "wilson-cc" = {
      lo <- if (x == 0) 0 else
        (2 * n * p + z^2 - 1 - z * sqrt(z^2 - 2 - 1 / n + 4 * p * (n * q + 1))) / (2 * (n + z^2))
      hi <- if (x == n) 1 else
        (2 * n * p + z^2 + 1 + z * sqrt(z^2 + 2 - 1 / n + 4 * p * (n * q - 1))) / (2 * (n + z^2))
      clip(c(lo, hi))
    },
    "agresti-coull" = {
      nt <- n + z^2
      pt <- (x + z^2 / 2) / nt
      clip(pt + c(-1, 1) * z * sqrt(pt * (1 - pt) / nt))
    },
    "jeffreys" = c(if (x == 0) 0 else qbeta(alpha / 2, x + 0.5, n - x + 0.5),
                   if (x == n) 1 else qbeta(1 - alpha / 2, x + 0.5, n - x + 0.5)),
    "wald" = clip(p + c(-1, 1) * z * sqrt(p * q / n)))
}
ci_methods <- c("clopper-pearson", "wilson", "wilson-cc", "agresti-coull", "jeffreys", "wald")
study <- list()
for (method in ci_methods) {
  for (lev in c(0.90, 0.95, 0.99)) {
    b <- t(mapply(function(x, n) study_ci(x, n, lev, method), xi, ni))
    study[[length(study) + 1]] <- list(method = method, level = lev,
                                       low = arr(b[, 1]), high = arr(b[, 2]))
  }
}

out <- list(
  generated_by = "tests/reference/metafor_level_reference.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  metafor_version = as.character(packageVersion("metafor")),
  control = ctrl,
  datasets = lapply(datasets, function(d) list(events = arr(d$xi), n = arr(d$ni))),
  pooled = pooled,
  study_ci = list(events = arr(xi), n = arr(ni), intervals = study))

writeLines(to_json(out), outfile)
cat("wrote", outfile, ":", length(pooled), "rma.uni fits,", length(study), "study CI sets\n")
