# Times metafor on the data written by benchmarks/run.py. Timing happens inside R, so R's
# start-up and package loading are not counted. Base R only (no jsonlite in a minimal R).
#
# Usage: Rscript metafor_bench.R DIR QUICK
#   DIR    folder with the CSV files run.py writes (columns x, n; loop.csv also `dataset`)
#   QUICK  1 for fewer repetitions
# Prints one line per workload: name <TAB> seconds <TAB> repetitions <TAB> note

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
quick <- length(args) > 1 && args[2] == "1"
suppressPackageStartupMessages(library(metafor))

now <- function() as.numeric(Sys.time())

# Median over `reps` batches of the time per call, each batch `batch` calls long (batches
# make calls of a few milliseconds measurable with a clock of microsecond resolution).
median_time <- function(f, reps, batch = 1, warmup = TRUE) {
  if (warmup) f()
  times <- numeric(reps)
  for (r in seq_len(reps)) {
    start <- now()
    for (b in seq_len(batch)) f()
    times[r] <- (now() - start) / batch
  }
  median(times)
}

emit <- function(name, seconds, reps, note = "") {
  cat(name, "\t", sprintf("%.6g", seconds), "\t", reps, "\t", note, "\n", sep = "")
}

read <- function(file) read.csv(file.path(dir, file))

d16 <- read("k16.csv")
reml_confint <- function(d) {
  fit <- rma(measure = "PLO", xi = d$x, ni = d$n, method = "REML")
  confint(fit)
}

# (1) one REML/logit analysis with its Q-profile interval for tau^2
reps <- if (quick) 5 else 15
emit("reml_k16", median_time(function() reml_confint(d16), reps, batch = 10), reps * 10)

# (2) one binomial-normal GLMM (nAGQ = 7, metafor's default for PLO)
reps <- if (quick) 3 else 10
emit(
  "glmm_k16",
  median_time(function() rma.glmm(measure = "PLO", xi = d16$x, ni = d16$n, method = "ML"), reps),
  reps
)

# (3) many analyses of 16 studies: a loop over the first datasets of loop.csv
loop <- read("loop.csv")
ids <- unique(loop$dataset)
start <- now()
for (i in ids) reml_confint(loop[loop$dataset == i, ])
emit("loop_k16", (now() - start) / length(ids), length(ids), "per analysis")

# (4) one REML/logit analysis of 1,000 studies (rma only: confint would take far longer)
d1000 <- read("k1000.csv")
emit(
  "reml_k1000",
  median_time(
    function() rma(measure = "PLO", xi = d1000$x, ni = d1000$n, method = "REML"), 1,
    warmup = FALSE
  ),
  1,
  "rma() only, no confint()"
)

# (5) GOSH: random subsets of 14 studies, each refitted by REML
d14 <- read("k14.csv")
fit14 <- rma(measure = "PLO", xi = d14$x, ni = d14$n, method = "REML")
subsets <- as.integer(readLines(file.path(dir, "gosh_subsets.txt")))
set.seed(1)
start <- now()
invisible(gosh(fit14, subsets = subsets, progbar = FALSE))
emit("gosh_k14", now() - start, subsets, "subsets fitted")
