# A minimal JSON writer in base R (no jsonlite in CI's minimal R): numbers with %.17g,
# NA and +-Inf as null. Sourced by the reference scripts in this directory.

num <- function(x) {
  if (length(x) == 0) return("[]")
  s <- ifelse(is.na(x) | is.infinite(x), "null", sprintf("%.17g", as.numeric(x)))
  s
}
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      items <- vapply(names(x), function(k)
        paste0(inner, '"', k, '": ', to_json(x[[k]], inner)), character(1))
      return(paste0("{\n", paste(items, collapse = ",\n"), "\n", indent, "}"))
    }
    items <- vapply(x, function(v) paste0(inner, to_json(v, inner)), character(1))
    return(paste0("[\n", paste(items, collapse = ",\n"), "\n", indent, "]"))
  }
  if (is.character(x)) {
    if (length(x) == 0) return("[]")
    esc <- gsub("\\", "\\\\", x, fixed = TRUE)
    esc <- gsub('"', '\\"', esc, fixed = TRUE)
    esc <- gsub("\n", "\\n", esc, fixed = TRUE)
    s <- paste0('"', esc, '"')
    return(if (length(x) == 1 && is.null(attr(x, "array"))) s else
      paste0("[", paste(s, collapse = ", "), "]"))
  }
  if (is.logical(x) && length(x) == 1) return(if (is.na(x)) "null" else tolower(x))
  if (length(x) == 0) return("[]")
  s <- num(x)
  if (length(x) == 1 && is.null(attr(x, "array"))) return(s)
  paste0("[", paste(s, collapse = ", "), "]")
}
arr <- function(x) { attr(x, "array") <- TRUE; x }

