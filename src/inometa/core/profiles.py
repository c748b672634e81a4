"""Convention profiles: the defaults of metafor, R meta and Stata's metaprop, made explicit.

A profile fills in every option the caller did not give; explicit keyword arguments
always win. The resolved choices are recorded on the result.

================  ===============  =================  ==============================
option            ``"metafor"``    ``"meta"``         ``"stata_metaprop"``
================  ===============  =================  ==============================
method            inverse          glmm for logit,    inverse
                                   else inverse
transform         logit            logit              ft
tau2_method       REML             ML (GLMM) /        DL
                                   REML (inverse)
ci_method         z                z                  z
pi_method         z                t  (k − 1)         hts (k − 2)
pi_se             ci               wald               ci
i2_definition     tau2             q                  q
study_ci_method   clopper-pearson  clopper-pearson    clopper-pearson
correction        only0 (raw,      only0 (raw, log,   none (ft)
                  log, logit)      logit)
correction_style  metafor          meta (raw, log)    metafor
increment         0.5              0.5                0.5
nagq (GLMM)       exact            exact              —
================  ===============  =================  ==============================

Notes on fidelity:

* The GLMM likelihood is integrated exactly in every profile (``nagq="exact"``). metafor's
  ``rma.glmm`` and R meta use lme4's 7-node adaptive Gauss–Hermite approximation, which
  moves τ̂² by up to 15% on data with 0% or 100% studies; pass ``nagq=7`` to reproduce
  their numbers (a note on the result says when the approximation matters).

* ``metafor`` is ``escalc(measure="PLO")`` + ``rma(method="REML")`` + ``predict()``.
  metafor has no study-level CI of its own for proportions; Clopper–Pearson is used.
* ``meta`` is R meta ≥ 8.0 ``metaprop()``: GLMM for the logit (``rma.glmm``, nAGQ = 7:
  here ``nagq=7``), prediction interval with k − 1 df (k − 2 before 8.0), I² from Q
  (Wald-type Q for GLMMs), Higgins–Thompson test-based interval for I².
* ``meta`` is checked against R meta 8.0-2's own ``metaprop()``
  (``tests/reference/meta_reference.R``): every option above, under metaprop's defaults and
  the options users change most (sm, method, method.tau, method.random.ci, method.predict,
  method.ci, incr, method.incr, subgroups with tau.common both ways). R meta's names map as
  sm PRAW/PLN/PLOGIT/PAS/PFT → ``transform`` raw/log/logit/arcsine/ft; method.random.ci
  classic/HK → ``ci_method`` z/hk (GLMM: z/t); method.predict V/S/HTS → ``pi_method``
  t/z/hts with ``pi_se="wald"``, and "HK" → ``pi_method="t"``, ``pi_se="ci"`` with
  ``ci_method="hk"``; method.ci CP/WS/WSCC/AC/SA → ``study_ci_method`` clopper-pearson/
  wilson/wilson-cc/agresti-coull/wald; incr/method.incr → ``increment``/``correction``.
  Two of R meta's conventions are options of their own, set by this profile: ``pi_se``
  (the inverse-variance SE in the prediction interval, also after a Hartung–Knapp CI) and
  ``correction_style`` (raw: only the variance of a 0%/100% study is corrected; log: the
  increment is added once to n). Where ``profile="meta"`` still differs from R meta, it
  does so by design (:data:`META_DIFFERENCES`):

  ========================  ==============================  ===============================
  difference                R meta 8.0-2                    inometa (``profile="meta"``)
  ========================  ==============================  ===============================
  ``glmm_integration``      lme4's 7-node adaptive          the exact likelihood;
                            Gauss–Hermite (nAGQ = 7)        ``nagq=7`` gives meta's numbers
  ``tau2_ci_dl``            DerSimonian–Laird: Jackson's    Q-profile for every estimator
                            (2013) generalised-Q interval
                            (method.tau.ci = "J")
  ``wilson_cc_at_0_or_n``   Wilson with continuity          Newcombe (1998): the bound at
                            correction: a lower bound > 0   the observed 0 (or n) is 0 (1)
                            at 0 events (upper < 1 at n)
  ``hk_pi_with_z_ci``       method.predict = "HK" with a    the PI's SE is the CI's or the
                            classic CI: the HK SE in the    Wald SE; ask ``ci_method="hk"``
                            PI around a z-based CI          for meta's "HK" PI
  ``qprofile_tolerance``    τ² Q-profile bounds root-found  root-found to 1e-12; the bounds
                            to uniroot's 1.2e-4 (absolute)  agree within meta's 1.2e-4
  ========================  ==============================  ===============================

* ``stata_metaprop`` mirrors the command demonstrated by Nyaga, Arbyn & Aerts (2014),
  ``metaprop x n, random ftt cimethod(exact) rfdist``: DerSimonian–Laird on the
  Freeman–Tukey scale (Stata's t is twice metafor's; proportions are identical),
  back-transformed with the harmonic mean of n, PI with k − 2 df. metaprop's own
  defaults differ (fixed effect, no transformation, Wilson study CIs, 0%/100% studies
  excluded); ask for those explicitly if needed. metaprop refuses a PI for k < 4 and a
  random-effects model for k < 3; inometa computes them where they are defined.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_choice

__all__ = ["META_DIFFERENCES", "PROFILES", "resolve_profile"]

#: Where ``profile="meta"`` differs from R meta's metaprop() by design (the table above;
#: each is named by a test in tests/test_reference_meta.py).
META_DIFFERENCES: dict[str, str] = {
    "glmm_integration": "R meta integrates the GLMM with lme4's 7-node adaptive "
    "Gauss–Hermite rule; the profile integrates exactly (nagq=7 reproduces meta)",
    "tau2_ci_dl": "with DerSimonian–Laird R meta gives Jackson's (2013) generalised-Q "
    "interval for τ²; inometa gives the Q-profile interval for every estimator",
    "wilson_cc_at_0_or_n": "R meta's continuity-corrected Wilson interval has a lower bound "
    "above 0 at 0 events (upper below 1 at n); inometa follows Newcombe (1998): 0 (1)",
    "hk_pi_with_z_ci": "R meta's method.predict='HK' with a classic CI puts the "
    "Hartung–Knapp SE in a PI around a z-based CI; inometa offers it with ci_method='hk'",
    "qprofile_tolerance": "R meta leaves metafor's confint() at uniroot's tolerance "
    "(1.2e-4 absolute in τ²); inometa root-finds the Q-profile bounds to 1e-12",
}

PROFILES: dict[str, dict[str, Any]] = {
    "metafor": {
        "method": "inverse",
        "transform": "logit",
        "tau2_method": "REML",
        "ci_method": "z",
        "pi_method": "z",
        "pi_se": "ci",
        "correction_style": "metafor",
        "i2_definition": "tau2",
        "study_ci_method": "clopper-pearson",
        "increment": 0.5,
        "nagq": "exact",
        "glmm_tau2_method": "ML",
    },
    "meta": {
        "method": None,  # GLMM when the transform is logit, else inverse variance
        "transform": "logit",
        "tau2_method": "REML",
        "ci_method": "z",
        "pi_method": "t",
        "pi_se": "wald",
        "correction_style": "meta",
        "i2_definition": "q",
        "study_ci_method": "clopper-pearson",
        "increment": 0.5,
        "nagq": "exact",
        "glmm_tau2_method": "ML",
    },
    "stata_metaprop": {
        "method": "inverse",
        "transform": "ft",
        "tau2_method": "DL",
        "ci_method": "z",
        "pi_method": "hts",
        "pi_se": "ci",
        "correction_style": "metafor",
        "i2_definition": "q",
        "study_ci_method": "clopper-pearson",
        "increment": 0.5,
        "nagq": "exact",
        "glmm_tau2_method": "ML",
    },
}

_NAMES = {name: name for name in PROFILES} | {"stata": "stata_metaprop", "r-meta": "meta"}


def resolve_profile(profile: str, explicit: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Merge a profile's defaults with explicit options (explicit wins; None = not given).

    Examples
    --------
    >>> name, opts = resolve_profile("meta", {"transform": "ft"})
    >>> opts["transform"], opts["method"], opts["pi_method"]
    ('ft', 'inverse', 't')
    """
    name = check_choice(profile, "profile", _NAMES)
    opts = dict(PROFILES[name])
    for key, value in explicit.items():
        if value is not None:
            opts[key] = value
    if opts["method"] is None:
        opts["method"] = (
            "glmm" if str(opts["transform"]).lower() in ("logit", "plo", "plogit") else "inverse"
        )
    return name, opts
