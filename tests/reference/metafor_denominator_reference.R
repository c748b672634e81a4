# Reference values for the denominator sensitivity analysis of the lao2025 reproduction.
#
# Run from the repository root:   Rscript tests/reference/metafor_denominator_reference.R [OUTFILE]
# Writes tests/reference/metafor_denominator_reference.json (numbers with %.17g). Needs base R
# and metafor.
#
# The counts below are the lao2025 analysis set of data/extracted (overall response and
# CR/CRi, in the set's order) as recorded after the provenance check of issue 22, and the two
# alternative readings of src/inometa/lao2025/config.py (DENOMINATOR_ALTERNATIVES):
#   jabbour2023     recorded 73/74 (99% of about 74 evaluable), alternative 79/80 (all treated)
#   chevallier2024  recorded 118/131 (90% after induction 2), alternative 119/131 (responders)
# The JSON repeats the counts, so the test notices when the data move away from them.
# Each variant is pooled with the published method: untransformed proportions (measure "PR"),
# DerSimonian-Laird tau^2, Wald (z) confidence interval.

suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else
  "tests/reference/metafor_denominator_reference.json"

source(file.path("tests", "reference", "_json.R"))

sets <- list(
  orr = list(
    study = c("kantarjian2013", "deangelo2017", "kantarjian2019", "jabbour2023",
              "kantarjian2023", "wieduwilt2023", "stelljes2024", "chevallier2024"),
    xi = c(52, 49, 121, 73, 91, 32, 43, 118),
    ni = c(90, 72, 164, 74, 110, 33, 43, 131)),
  cr_cri = list(
    study = c("kantarjian2013", "deangelo2017", "kantarjian2019", "jain2021",
              "jabbour2023", "wieduwilt2023", "stelljes2024", "chevallier2024"),
    xi = c(44, 49, 121, 15, 73, 32, 43, 118),
    ni = c(90, 72, 164, 18, 74, 33, 43, 131)))
alternatives <- list(jabbour2023 = c(79, 80), chevallier2024 = c(119, 131))

fit <- function(xi, ni) {
  es <- escalc(measure = "PR", xi = xi, ni = ni)
  res <- rma(es$yi, es$vi, method = "DL", test = "z")
  list(estimate = as.numeric(res$b), ci_low = res$ci.lb, ci_high = res$ci.ub,
       tau2 = res$tau2, i2 = res$I2 / 100)
}

out <- list()
for (outcome in names(sets)) {
  s <- sets[[outcome]]
  variants <- list(recorded = c(list(xi = arr(s$xi), ni = arr(s$ni)), fit(s$xi, s$ni)))
  for (study in names(alternatives)) {
    i <- which(s$study == study)
    xi <- s$xi; ni <- s$ni
    xi[i] <- alternatives[[study]][1]; ni[i] <- alternatives[[study]][2]
    variants[[study]] <- c(list(xi = arr(xi), ni = arr(ni)), fit(xi, ni))
  }
  out[[outcome]] <- list(study = arr(s$study), variants = variants)
}

writeLines(to_json(list(
  generator = "tests/reference/metafor_denominator_reference.R",
  metafor_version = as.character(packageVersion("metafor")),
  method = "rma(escalc(measure = 'PR'), method = 'DL', test = 'z')",
  outcomes = out)), outfile)
