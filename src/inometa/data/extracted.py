"""Loading the extracted dataset as tidy DataFrames, whole or as a named analysis set."""

from __future__ import annotations

import pandas as pd

from ._csv import LINE, Findings
from ._issues import ValidationReport
from ._paths import PathLike, data_dir
from ._sets import SETS_FILE, read_sets, resolve
from ._tables import read_tables
from .checks import collect
from .vocabulary import OUTCOMES, REGIMENS, SETTINGS

__all__ = ["analysis_set", "analysis_sets", "load_extracted"]

_SORT = ["year", "publication_date", "label"]

_COLUMNS = [
    "study_id",
    "label",
    "outcome",
    "outcome_label",
    "events",
    "total",
    "denominator",
    "denominator_definition",
    "definition",
    "derived",
    "derivation",
    "verification",
    "source",
    "quote",
    "location",
    "outcome_notes",
    "first_author",
    "year",
    "publication_date",
    "journal",
    "doi",
    "url",
    "registry_id",
    "report_type",
    "design",
    "phase",
    "cohort",
    "setting",
    "setting_group",
    "regimen",
    "regimen_group",
    "partner_drugs",
    "population",
    "adults_only",
    "ph_status",
    "n_enrolled",
    "n_treated",
    "study_notes",
    "outcomes_line",
]


def _tidy(studies: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Join the two string frames and give each column its type; empty text becomes missing."""
    study = studies.drop(columns=LINE).rename(columns={"notes": "study_notes"})
    rows = outcomes.rename(columns={LINE: "outcomes_line", "notes": "outcome_notes"})
    df = rows.merge(study, on="study_id", how="left", validate="many_to_one")
    df = df.replace("", None)
    df["events"] = df["events"].astype("int64")
    df["total"] = df["total"].astype("int64")
    df["year"] = df["year"].astype("int64")
    df["n_enrolled"] = pd.to_numeric(df["n_enrolled"]).astype("Int64")
    df["n_treated"] = pd.to_numeric(df["n_treated"]).astype("Int64")
    df["derived"] = df["derived"] == "yes"
    df["outcome_label"] = df["outcome"].map(OUTCOMES)
    df["setting_group"] = df["setting"].map(SETTINGS)
    df["regimen_group"] = df["regimen"].map(REGIMENS)
    order = {code: i for i, code in enumerate(OUTCOMES)}
    df = df.assign(_order=df["outcome"].map(order)).sort_values([*_SORT, "_order"], kind="stable")
    result: pd.DataFrame = df[_COLUMNS].reset_index(drop=True)
    return result


def load_extracted(path: PathLike | None = None) -> pd.DataFrame:
    """All outcome rows, one per (study, outcome), joined with the study attributes.

    Parameters
    ----------
    path
        A ``data/extracted`` directory; when None it is found as described in
        :mod:`inometa.data` (``$INOMETA_DATA``, ``./data/extracted``, the repository's copy).

    Returns
    -------
    pandas.DataFrame
        One row per outcome row of ``outcomes.csv``, sorted by year, publication date, label
        and outcome. Counts (``events``, ``total``, ``year``) are int64, ``n_enrolled`` and
        ``n_treated`` nullable Int64, ``derived`` bool; empty text is missing (never ``""``
        or 0). Added columns: ``outcome_label``, ``setting_group``,
        ``regimen_group`` (human labels), ``outcomes_line`` (the row's line in
        ``outcomes.csv``). Outcomes a study did not report are absent.

    Raises
    ------
    ValueError
        If the directory is missing or ``studies.csv``/``outcomes.csv`` have errors (the
        message lists them with file, line, column and value).

    Examples
    --------
    >>> from inometa.data import load_extracted
    >>> df = load_extracted()
    >>> row = df[(df.study_id == "kantarjian2013") & (df.outcome == "sct")].iloc[0]
    >>> int(row.events), int(row.total), row.denominator
    (36, 90, 'treated')
    """
    directory = data_dir(path)
    findings = Findings()
    tables = read_tables(directory, findings)
    report = ValidationReport(str(directory), tuple(findings.errors), ())
    report.raise_if_errors()
    assert tables is not None  # no errors implies both tables were read
    return _tidy(tables.studies.frame, tables.outcomes.frame)


def analysis_sets(path: PathLike | None = None) -> dict[str, str]:
    """The analysis sets defined in ``analysis_sets.toml``, name → description.

    Examples
    --------
    >>> from inometa.data import analysis_sets
    >>> sorted(analysis_sets())
    ['lao2025', 'latest']
    """
    directory = data_dir(path)
    findings = Findings()
    specs = read_sets(directory / SETS_FILE, findings)
    ValidationReport(str(directory), tuple(findings.errors), ()).raise_if_errors()
    return {name: spec.description for name, spec in specs.items()}


def analysis_set(name: str, outcome: str, path: PathLike | None = None) -> pd.DataFrame:
    """The rows to pool for one outcome of a named analysis set.

    Parameters
    ----------
    name
        A set of ``analysis_sets.toml``, e.g. ``"lao2025"`` (the reconstruction of the
        published study set) or ``"latest"`` (lao2025 plus later reports).
    outcome
        An outcome code of :data:`inometa.data.OUTCOMES`, e.g. ``"orr"``.
    path
        A ``data/extracted`` directory (default: see :mod:`inometa.data`).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`load_extracted` (``study_id``, ``label``, ``events``,
        ``total``, ``denominator``, ``derived``, ``source``, ``quote``, ``location``,
        ``year``, ``publication_date``, ``cohort``, ``setting``, ``setting_group``,
        ``regimen``, ``regimen_group``, …) plus ``reason`` (why the row is in the set) and
        ``chosen_in`` (the set that chose it, for inherited rows). Sorted by year,
        publication date and label. Empty (with these columns) when the set has no row for
        the outcome, e.g. survival, for which no counts exist.

    Raises
    ------
    ValueError
        For an unknown set or outcome name (listing the valid ones), or when the data do not
        validate (listing the errors).

    Examples
    --------
    >>> from inometa.data import analysis_set
    >>> vod = analysis_set("lao2025", "vod")
    >>> vod.loc[vod.label == "DeAngelo 2017", ["events", "total"]].to_numpy().tolist()
    [[4, 72]]
    >>> sorted(vod.regimen_group.unique())
    ['combination', 'monotherapy']
    """
    tables, specs, report = collect(data_dir(path))
    report.raise_if_errors()
    assert tables is not None  # no errors implies both tables were read
    if name not in specs:
        raise ValueError(f"unknown analysis set {name!r}; valid sets are: {', '.join(specs)}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; valid outcomes are: {', '.join(OUTCOMES)}")
    entries, _ = resolve(specs, name)
    chosen = pd.DataFrame(
        [(e.study, e.reason, e.chosen_in) for e in entries if e.outcome == outcome],
        columns=["study_id", "reason", "chosen_in"],
    )
    rows = _tidy(tables.studies.frame, tables.outcomes.frame)
    rows = rows[rows["outcome"] == outcome].merge(chosen, on="study_id", how="inner")
    result: pd.DataFrame = rows.sort_values(_SORT, kind="stable").reset_index(drop=True)
    return result


def set_exclusions(name: str, path: PathLike | None = None) -> pd.DataFrame:
    """The reports a set leaves out on purpose, with the reason (and their study details).

    Parameters
    ----------
    name
        A set of ``analysis_sets.toml``.
    path
        A ``data/extracted`` directory (default: see :mod:`inometa.data`).

    Returns
    -------
    pandas.DataFrame
        ``study_id``, ``label``, ``year``, ``cohort``, ``n_enrolled``, ``reason``.

    Examples
    --------
    >>> from inometa.data import set_exclusions
    >>> "kantarjian2012" in set(set_exclusions("lao2025")["study_id"])
    True
    """
    tables, specs, report = collect(data_dir(path))
    report.raise_if_errors()
    assert tables is not None
    if name not in specs:
        raise ValueError(f"unknown analysis set {name!r}; valid sets are: {', '.join(specs)}")
    _, excluded = resolve(specs, name)
    studies = tables.studies.frame
    rows = [
        {
            "study_id": sid,
            "label": studies.loc[studies["study_id"] == sid, "label"].iloc[0],
            "year": studies.loc[studies["study_id"] == sid, "year"].iloc[0],
            "cohort": studies.loc[studies["study_id"] == sid, "cohort"].iloc[0],
            "n_enrolled": studies.loc[studies["study_id"] == sid, "n_enrolled"].iloc[0],
            "reason": reason,
        }
        for sid, reason in excluded.items()
    ]
    frame: pd.DataFrame = pd.DataFrame(
        rows, columns=["study_id", "label", "year", "cohort", "n_enrolled", "reason"]
    )
    return frame
