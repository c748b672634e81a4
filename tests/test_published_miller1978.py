"""Miller (1978), "The inverse of the Freeman–Tukey double arcsine transformation",
The American Statistician 32(4):138 — the worked example on p. 138.

Deaths x = (3, 6, 10, 1) among n = (11, 17, 21, 6) animals. Miller tabulates the
transformed values t = arcsin√(x/(n+1)) + arcsin√((x+1)/(n+1)) and their variances
1/(n + ½), to four decimals. inometa (like metafor) stores y = t/2 with variance
1/(4n + 2), so the comparison doubles y and quadruples v.
"""

from __future__ import annotations

import numpy as np
import pytest

from inometa.core.transforms import ft_forward, ft_inverse, get_transform

X = [3, 6, 10, 1]
N = [11, 17, 21, 6]
T_PRINTED = [1.1391, 1.2888, 1.5253, 0.9515]
V_PRINTED = [0.0870, 0.0571, 0.0465, 0.1538]
HALF_UNIT = 0.00005  # four decimals printed


def test_transformed_values_page_138() -> None:
    yi, vi = get_transform("ft").yi_vi(X, N)
    np.testing.assert_allclose(2 * yi, T_PRINTED, rtol=0, atol=HALF_UNIT)
    np.testing.assert_allclose(4 * vi, V_PRINTED, rtol=0, atol=HALF_UNIT)


def test_inverse_recovers_each_proportion() -> None:
    # Miller's inverse is exact for a single study's own value and n.
    yi, _ = get_transform("ft").yi_vi(X, N)
    np.testing.assert_allclose(ft_inverse(yi, N), np.array(X) / np.array(N), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 20, 1000])
def test_inverse_at_the_bounds(n: int) -> None:
    assert ft_inverse(ft_forward(0.0, n), n) == 0.0
    assert ft_inverse(ft_forward(1.0, n), n) == 1.0
    assert ft_inverse(ft_forward(0.0, n) - 1e-3, n) == 0.0
    assert ft_inverse(ft_forward(1.0, n) + 1e-3, n) == 1.0
