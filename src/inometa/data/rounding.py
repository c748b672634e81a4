"""Counts against printed percentages: rule 8 of ``data/extracted/README.md``.

A count derived from a percentage must give that percentage back when it is divided by its
denominator and rounded to the printed number of decimals, and it must be the only whole
number that does. Authors round either half up (7.5 → 8) or half to even (7.5 → 8, 6.5 → 6);
which one a report used is unknown, so a count fits when either rule gives the printed
value, and every message states both.

The arithmetic is exact (:class:`fractions.Fraction`): 6/80 is exactly 7.5%, never
7.4999…%.

The ``derivation`` column of ``outcomes.csv`` cites percentages in three forms, each checked
by :func:`check_derivation`:

=======================  ====================================================================
form                     claim checked
=======================  ====================================================================
``P% x D ... -> E``      E of D prints as P%, and no other whole number of D does (``= v``
                         may follow ``D``: v must be P × D / 100 at its printed decimals;
                         without ``-> E``, E is a whole ``v``, else the row's events when D is
                         the row's total)
``E/D = X%``             the arithmetic: E/D prints as X%
any other ``P%``         the row's own events/total print as P%
=======================  ====================================================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

__all__ = [
    "Claim",
    "check_derivation",
    "counts_giving",
    "fits",
    "parse_claims",
    "printed",
    "rounded",
]

_NUMBER = r"\d+(?:\.\d+)?"
_SHARE = re.compile(
    rf"(?P<p>{_NUMBER})\s*%\s*[x×]\s*(?P<d>\d+)(?:\s*\([^)]*\))?"
    rf"(?:\s*=\s*(?P<v>{_NUMBER}))?(?:\s*->\s*(?P<e>\d+))?"
)
_RATIO = re.compile(rf"(?P<e>\d+)\s*/\s*(?P<d>\d+)\s*=\s*(?P<p>{_NUMBER})\s*%")
_RESULT = re.compile(rf"(?:=|->)\s*({_NUMBER})(?!\s*%)(?![\d.])")
_PERCENT = re.compile(rf"(?<![\d.])(?P<p>{_NUMBER})\s*%")


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def rounded(events: int, total: int, decimals: int) -> tuple[int, int]:
    """100 × events / total scaled by 10**decimals and rounded half up and half to even.

    Parameters
    ----------
    events, total : int
        The count and its denominator (``total`` ≥ 1).
    decimals : int
        Printed decimals of the percentage.

    Returns
    -------
    tuple of int
        ``(half_up, half_even)``, both in units of 10**-decimals percent.

    Examples
    --------
    >>> rounded(6, 80, 0)      # exactly 7.5%
    (8, 8)
    >>> rounded(13, 200, 0)    # exactly 6.5%
    (7, 6)
    >>> rounded(54, 73, 1)     # 73.97…%
    (740, 740)
    """
    if total < 1:
        raise ValueError(f"total must be at least 1, got {total}")
    scaled = Fraction(100 * events * 10**decimals, total)
    return math.floor(scaled + Fraction(1, 2)), round(scaled)


def printed(units: int, decimals: int) -> str:
    """A percentage in units of 10**-decimals as it would be printed (``(826, 1)`` → ``"82.6"``).

    Examples
    --------
    >>> printed(826, 1), printed(83, 0), printed(5, 2)
    ('82.6', '83', '0.05')
    """
    if decimals == 0:
        return str(units)
    digits = str(units).rjust(decimals + 1, "0")
    return f"{digits[:-decimals]}.{digits[-decimals:]}"


def fits(events: int, total: int, percent: str) -> bool:
    """True when events/total prints as ``percent`` (as printed, e.g. ``"82"`` or ``"80.7"``)
    under round-half-up or round-half-even.

    Examples
    --------
    >>> fits(38, 46, "82"), fits(37, 46, "82")
    (False, False)
    >>> fits(88, 109, "80.7")
    True
    """
    d = _decimals(percent)
    target = Fraction(percent) * 10**d
    return target in rounded(events, total, d)


def counts_giving(total: int, percent: str) -> list[int]:
    """Every whole number of ``total`` that prints as ``percent``, in increasing order.

    Examples
    --------
    >>> counts_giving(46, "82")
    []
    >>> counts_giving(131, "90")
    [118]
    >>> counts_giving(250, "10")
    [24, 25, 26]
    """
    half = Fraction(1, 2 * 10 ** _decimals(percent))
    low = math.floor((Fraction(percent) - half) * total / 100)
    high = math.ceil((Fraction(percent) + half) * total / 100)
    return [k for k in range(max(0, low), min(total, high) + 1) if fits(k, total, percent)]


def _describe(events: int, total: int, percent: str) -> str:
    d = _decimals(percent)
    up, even = rounded(events, total, d)
    exact = float(Fraction(100 * events, total))
    return (
        f"{events}/{total} = {exact:.4g}%, which prints as {printed(up, d)}% rounding half up "
        f"and {printed(even, d)}% rounding half to even"
    )


@dataclass(frozen=True)
class Claim:
    """One percentage cited in a derivation and what it claims.

    Attributes
    ----------
    kind
        ``"share"`` (``P% x D -> E``), ``"ratio"`` (``E/D = X%``) or ``"reported"`` (any other
        ``P%``, a percentage of the row's own count).
    text
        The cited text.
    percent
        The percentage as printed.
    events, total
        The count the claim is about (None when it cannot be told).
    value
        For a share, the product written after ``=`` (as written), else None.
    """

    kind: Literal["share", "ratio", "reported"]
    text: str
    percent: str
    events: int | None
    total: int
    value: str | None = None


def parse_claims(derivation: str, events: int, total: int) -> list[Claim]:
    """The percentages ``derivation`` cites, each with the count it claims to fit.

    Parameters
    ----------
    derivation : str
        The ``derivation`` cell.
    events, total : int
        The row's count, used for claims that do not name theirs.

    Examples
    --------
    >>> [(c.kind, c.percent, c.events, c.total)
    ...  for c in parse_claims("82% x 46 = 37.7 -> 38 (38/46 = 82.6%)", 38, 46)]
    [('share', '82', 38, 46), ('ratio', '82.6', 38, 46)]
    >>> parse_claims("9 CR + 19 marrow CR = 28 (reported 57%)", 28, 49)[0].kind
    'reported'
    """
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []
    for m in _SHARE.finditer(derivation):
        d = int(m["d"])
        if m["e"] is not None:
            e: int | None = int(m["e"])
        elif m["v"] is not None and Fraction(m["v"]).denominator == 1:
            e = int(Fraction(m["v"]))
        else:
            e = events if d == total else None
        claims.append(Claim("share", m[0].strip(), m["p"], e, d, m["v"]))
        taken.append(m.span())
    for m in _RATIO.finditer(derivation):
        if any(a <= m.start() < b for a, b in taken):
            continue
        claims.append(Claim("ratio", m[0], m["p"], int(m["e"]), int(m["d"])))
        taken.append(m.span())
    for m in _PERCENT.finditer(derivation):
        if any(a <= m.start() < b for a, b in taken):
            continue
        claims.append(Claim("reported", m[0], m["p"], events, total))
    claims.sort(key=lambda c: derivation.find(c.text))
    return claims


def _check(claim: Claim) -> str | None:
    if claim.events is None:
        return (
            f"'{claim.text}': which count of {claim.total} does it give? Write '-> count' "
            "after the arithmetic"
        )
    if claim.total < 1 or claim.events > claim.total:
        return f"'{claim.text}': {claim.events} of {claim.total} is not a count"
    if claim.kind == "share" and claim.value is not None:
        d = _decimals(claim.value)
        product = Fraction(claim.percent) * claim.total / 100
        target = Fraction(claim.value) * 10**d
        scaled = product * 10**d
        if target not in (math.floor(scaled + Fraction(1, 2)), round(scaled)):
            return (
                f"'{claim.text}': {claim.percent}% x {claim.total} = {float(product):.6g}, "
                f"not {claim.value}"
            )
    if not fits(claim.events, claim.total, claim.percent):
        candidates = counts_giving(claim.total, claim.percent)
        which = (
            f"no whole number of {claim.total} gives {claim.percent}%"
            if not candidates
            else f"only {', '.join(map(str, candidates))} of {claim.total} "
            f"give{'s' if len(candidates) == 1 else ''} {claim.percent}%"
        )
        what = {
            "share": "the derived count does not reproduce the cited percentage",
            "ratio": "the arithmetic is wrong",
            "reported": "the row's count does not reproduce the cited percentage",
        }[claim.kind]
        return (
            f"'{claim.text}': {what}: {_describe(claim.events, claim.total, claim.percent)}, "
            f"not {claim.percent}%; {which}"
        )
    if claim.kind == "share":
        candidates = counts_giving(claim.total, claim.percent)
        if len(candidates) > 1:
            return (
                f"'{claim.text}': {', '.join(map(str, candidates))} of {claim.total} all give "
                f"{claim.percent}%, so the count cannot be derived from it (rule 8: exactly "
                "one whole number must reproduce the printed percentage)"
            )
    return None


def check_derivation(derivation: str, events: int, total: int) -> list[str]:
    """Every problem with the percentages a derivation cites (empty when all fit).

    Parameters
    ----------
    derivation : str
        The ``derivation`` cell of a derived row.
    events, total : int
        The row's count.

    Returns
    -------
    list of str
        One message per failed claim, quoting the cited text and giving the percentage
        under both rounding rules and the counts that would fit.

    Examples
    --------
    >>> check_derivation("78% x 59 = 46.02 -> 46", 46, 59)
    []
    >>> import textwrap
    >>> print(textwrap.fill(check_derivation("82% x 46 = 37.7 -> 38", 38, 46)[0], 80))
    '82% x 46 = 37.7 -> 38': the derived count does not reproduce the cited
    percentage: 38/46 = 82.61%, which prints as 83% rounding half up and 83%
    rounding half to even, not 82%; no whole number of 46 gives 82%
    """
    claims = parse_claims(derivation, events, total)
    problems = [p for p in (_check(c) for c in claims) if p is not None]
    results = {
        int(Fraction(v)) for v in _RESULT.findall(derivation) if Fraction(v).denominator == 1
    }
    results |= {
        c.events
        for c in claims
        if c.kind != "reported" and c.total == total and c.events is not None
    }
    if events not in results:
        problems.append(
            f"the derivation does not arrive at the row's count {events} (write '-> {events}' "
            f"or '= {events}' where it does)"
        )
    if not any(c.total == total for c in claims):
        problems.append(
            f"the derivation does not show the denominator {total}: cite a percentage of it "
            f"or write '{events}/{total} = {printed(rounded(events, total, 1)[0], 1)}%'"
        )
    return problems
