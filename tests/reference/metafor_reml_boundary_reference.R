# Reference values for a REML fit that metafor's Fisher scoring finishes only with a high
# iteration limit: raw proportions of six small arms (one 0/6, corrected by 1/2 as
# metafor's escalc does by default). With its default control, metafor 3.8-1's
# rma(method = "REML") stops with "Fisher scoring algorithm did not converge": its iterates
# approach the maximum very slowly on this nearly flat restricted likelihood. With
# threshold = 1e-12 and maxiter = 10000 it converges.
#
# Also two ML fits where Fisher scoring converges to a local maximum of the likelihood
# below its value at tau^2 = 0, so that metafor's ll0check sets tau^2 = 0 (with the warning
# "Fisher scoring algorithm may have gotten stuck at a local maximum").
#
# And the Sidik-Jonkman estimator on equal values (its start, var(yi), is exactly 0).
#
# Run from the repository root:
#   Rscript tests/reference/metafor_reml_boundary_reference.R [OUTFILE]
# Writes tests/reference/metafor_reml_boundary_reference.json (numbers with %.17g).

suppressPackageStartupMessages(library(metafor))
source(file.path("tests", "reference", "_json.R"))

args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else
  "tests/reference/metafor_reml_boundary_reference.json"

xi <- c(1, 2, 1, 0, 3, 2)
ni <- c(5, 8, 4, 6, 9, 7)
es <- escalc(measure = "PR", xi = xi, ni = ni)

default_control <- tryCatch({
  rma(es$yi, es$vi, method = "REML")
  "converged"
}, error = function(e) conditionMessage(e))

r <- rma(es$yi, es$vi, method = "REML", control = list(threshold = 1e-12, maxiter = 10000))

ll0 <- list(
  list(yi = c(1.1436135261476181, 0.022949778359614842, 0.11536831768857238),
       vi = c(0.12745728126274516, 0.11644401944356311, 0.0029124054666257414)),
  list(yi = c(-5.179046061417098, -0.38049252376268333),
       vi = c(3.73500043690344, 0.001056539377824412)))
ll0check <- lapply(ll0, function(d) {
  warned <- ""
  f <- withCallingHandlers(rma(d$yi, d$vi, method = "ML"), warning = function(w) {
    warned <<- conditionMessage(w)
    invokeRestart("muffleWarning")
  })
  list(yi = d$yi, vi = d$vi, method = "ML", warning = warned, tau2 = f$tau2,
       se_tau2 = f$se.tau2, estimate = c(f$b), se = f$se)
})

sj_vi <- c(0.01, 0.02, 0.03, 0.01, 0.02, 0.05, 0.01)
sj <- rma(rep(0.1, 7), sj_vi, method = "SJ")
sj_equal <- list(yi = rep(0.1, 7), vi = sj_vi, tau2 = sj$tau2, se_tau2 = sj$se.tau2)

out <- list(
  xi = xi, ni = ni, measure = "PR",
  default_control = default_control,
  tau2 = r$tau2,
  loglik = as.numeric(logLik(r)),
  estimate = c(r$b),
  se = r$se,
  ll0check = ll0check,
  sj_equal = sj_equal
)
writeLines(to_json(out), outfile)
