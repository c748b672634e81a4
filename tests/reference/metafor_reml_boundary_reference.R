# Reference values for a REML fit that metafor's Fisher scoring finishes only with a high
# iteration limit: raw proportions of six small arms (one 0/6, corrected by 1/2 as
# metafor's escalc does by default). With its default control, metafor 3.8-1's
# rma(method = "REML") stops with "Fisher scoring algorithm did not converge": its iterates
# approach the maximum very slowly on this nearly flat restricted likelihood. With
# threshold = 1e-12 and maxiter = 10000 it converges.
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

out <- list(
  xi = xi, ni = ni, measure = "PR",
  default_control = default_control,
  tau2 = r$tau2,
  loglik = as.numeric(logLik(r)),
  estimate = c(r$b),
  se = r$se
)
writeLines(to_json(out), outfile)
