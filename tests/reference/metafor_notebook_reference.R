# Reference values for the numbers notebooks/quickstart.ipynb shows, computed by metafor.
#
# Run from the repository root:   Rscript tests/reference/metafor_notebook_reference.R [OUTFILE]
# Writes tests/reference/metafor_notebook_reference.json (numbers with %.17g). Needs base R,
# metafor and lme4; fits use the same tight control as metafor_reference.R.
#
# The counts are those of inometa.data.analysis_set("lao2025", "vod") as the notebook pools
# them; tests/test_notebooks.py checks that the notebook still pools exactly these, so a
# change of the data shows up as a failure there, and this script is updated with it.

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
})

args <- commandArgs(trailingOnly = TRUE)
outfile <- if (length(args) >= 1) args[1] else "tests/reference/metafor_notebook_reference.json"

source(file.path("tests", "reference", "_json.R"))

ctrl <- list(tol = 1e-12, threshold = 1e-12, maxiter = 10000)
vod <- list(
  label = c("DeAngelo 2017", "Kantarjian 2019 (INO-VATE)", "Jabbour 2023", "Kantarjian 2023",
            "Wieduwilt 2023 (ASCO)", "Stelljes 2024", "Jabbour 2024", "Metheny 2024"),
  xi = c(4, 23, 6, 10, 1, 1, 2, 0),
  ni = c(72, 164, 80, 110, 33, 43, 26, 18))

# res: logit, REML, Hartung-Knapp CI, t(k - 1) prediction interval (predict's default
# for test = "knha")
es <- escalc(measure = "PLO", xi = vod$xi, ni = vod$ni)
res <- rma(es$yi, es$vi, method = "REML", test = "knha", control = ctrl)
p <- predict(res, transf = transf.ilogit)
loo <- leave1out(res, transf = transf.ilogit)  # refits with the control of res

# glmm: the binomial-normal model by maximum likelihood; lme4's adaptive quadrature with 21
# nodes (inometa integrates exactly; at 21 nodes the two agree far below the 4 decimals shown)
glmm <- rma.glmm(measure = "PLO", xi = vod$xi, ni = vod$ni, method = "ML", nAGQ = 21,
                 control = list(glmerCtrl = list(optimizer = "bobyqa",
                                                 optCtrl = list(rhoend = 1e-10, maxfun = 1e5))))
pg <- predict(glmm, transf = transf.ilogit)

out <- list(
  generated_by = "tests/reference/metafor_notebook_reference.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  metafor_version = as.character(packageVersion("metafor")),
  lme4_version = as.character(packageVersion("lme4")),
  vod = list(label = arr(vod$label), events = arr(vod$xi), n = arr(vod$ni)),
  reml_hk = list(pred = p$pred, ci_lb = p$ci.lb, ci_ub = p$ci.ub, pi_lb = p$pi.lb,
                 pi_ub = p$pi.ub, tau2 = res$tau2, I2 = res$I2),
  leave1out = list(estimate = arr(loo$estimate), ci_lb = arr(loo$ci.lb), ci_ub = arr(loo$ci.ub),
                   tau2 = arr(loo$tau2), I2 = arr(loo$I2)),
  glmm = list(pred = pg$pred, tau2 = glmm$tau2))

writeLines(to_json(out), outfile)
cat("wrote", outfile, "\n")
