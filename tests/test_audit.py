"""audit(): internal consistency of published pooled proportions."""

from __future__ import annotations

import pytest

import inometa
from inometa.cli import main

X = [4, 23, 10, 1, 2, 0, 6, 9, 3, 5, 2, 7]
N = [72, 164, 110, 43, 26, 18, 36, 59, 33, 80, 45, 131]


def _status(res: inometa.AuditResult, check: str) -> str:
    return next(f.status for f in res.findings if f.check == check)


def test_lao2025_vod_pi_excludes_estimate() -> None:
    # Lao, Wen & Wen 2025 (Front Oncol), abstract: VOD 6.2% (3.8–8.6), PI 6.6–54.5, I² 68.0%
    res = inometa.audit(6.2, (3.8, 8.6), pi=(6.6, 54.5), i2=68.0, label="vod")
    assert _status(res, "pi contains estimate") == "impossible"
    assert _status(res, "pi at least as wide as ci") == "impossible"
    assert res.symmetric_scales == ("raw",)


def test_lao2025_cr_pi_narrower_than_ci() -> None:
    # CR 70.5% (58.6–82.5), PI 3.3–76.9
    res = inometa.audit(70.5, (58.6, 82.5), pi=(3.3, 76.9), i2=94.0)
    assert _status(res, "pi at least as wide as ci") == "impossible"
    assert "upper bound 76.9 < CI upper 82.5" in next(
        f.message for f in res.findings if f.check == "pi at least as wide as ci"
    )


@pytest.mark.parametrize(
    ("transform", "scale"), [("raw", "raw"), ("logit", "logit"), ("arcsine", "arcsine")]
)
def test_a_consistent_analysis_passes_and_its_scale_is_found(transform: str, scale: str) -> None:
    res = inometa.metaprop(X, N, transform=transform, tau2_method="DL", pi_method="hts")

    def pct(v: float) -> float:
        return round(100 * v, 1)

    a = inometa.audit(
        pct(res.estimate),
        (pct(res.random.proportion_ci.low), pct(res.random.proportion_ci.high)),
        pi=(pct(res.prediction.proportion_low), pct(res.prediction.proportion_high)),
        i2=round(100 * res.i2, 1),
        k=res.k,
    )
    assert not a.impossible, a.to_frame().to_string()
    assert scale in a.symmetric_scales and scale in a.pi_centred_scales


def test_fractions_and_percentages_agree() -> None:
    a = inometa.audit(0.062, (0.038, 0.086), pi=(0.066, 0.545), i2=0.68)
    b = inometa.audit(6.2, (3.8, 8.6), pi=(6.6, 54.5), i2=68.0)
    assert [f.status for f in a.findings] == [f.status for f in b.findings]


def test_zero_i2_with_a_wide_pi_is_impossible() -> None:
    res = inometa.audit(44.9, (39.2, 50.5), pi=(10.0, 80.0), i2=0.0)
    assert _status(res, "i2 vs widths") == "impossible"


def test_no_pi_is_undetermined() -> None:
    res = inometa.audit(61.7, (44.9, 78.5), i2=94.1)
    assert _status(res, "prediction interval") == "undetermined"


def test_bad_unit() -> None:
    with pytest.raises(ValueError, match="valid values are: fraction, percent"):
        inometa.audit(6.2, (3.8, 8.6), unit="permille")


def test_cli_audit_published(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--published", "data/published/lao2025.csv"]) == 0
    out = capsys.readouterr().out
    assert "vod" in out and "impossible" in out and "pi contains estimate" in out
