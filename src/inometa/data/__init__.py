"""The extracted dataset: arm-level counts with provenance, analysis sets, validation.

Files (plain CSV and TOML, described in ``data/extracted/README.md``):

- ``data/extracted/studies.csv``: one row per study report;
- ``data/extracted/outcomes.csv``: one row per (study, outcome) with events, total, the
  denominator's definition, whether and how the count was derived, and its source, quote
  and location;
- ``data/extracted/analysis_sets.toml``: named sets of (study, outcome) rows to pool
  (``lao2025``, ``latest``), each choice with its reason;
- ``data/published/lao2025.csv``: the pooled numbers printed in the Lao et al. 2025 abstract.

The data are installed with the package (as ``inometa/_data``, read with
:mod:`importlib.resources`; :func:`data_root` gives the folder). Where the data are found
when no ``path`` is given, in order:

1. ``$INOMETA_DATA`` (a ``data/extracted`` directory), if the variable is set;
2. the data shipped with the package (in a source checkout: the checkout's ``data/``).

The working directory plays no part. ``published`` is the sibling of the resolved
``extracted`` directory.

New reports and outcome rows are added with :func:`add_rows` or :func:`add_rows_from_csv`
(``inometa add-study``): validated before writing, appended without rewriting other lines,
and only to a folder named with ``path=`` or ``$INOMETA_DATA`` — never to the installed
copy. :func:`copy_data` (``inometa data copy DIR``) makes a writable copy.

Examples
--------
>>> from inometa import data
>>> data.OUTCOMES["orr"]
'overall response'
>>> orr = data.analysis_set("lao2025", "orr")
>>> orr[["label", "events", "total"]].head(2).to_numpy().tolist()
[['Kantarjian 2013', 52, 90], ['DeAngelo 2017', 49, 72]]
"""

from ._csv import earliest_date
from ._issues import Issue, ValidationReport
from ._paths import copy_data, data_dir, data_root, published_file, writable_data_dir
from .adding import (
    AddError,
    AddProblem,
    AddReport,
    add_rows,
    add_rows_from_csv,
    recover_update,
)
from .checks import validate
from .extracted import analysis_set, analysis_sets, load_extracted, set_exclusions
from .published import load_published
from .snapshot import snapshot
from .survival import SURVIVAL_OUTCOMES, load_survival
from .vocabulary import DENOMINATORS, DESIGNS, OUTCOMES, REGIMENS, SETTINGS

__all__ = [
    "DENOMINATORS",
    "DESIGNS",
    "OUTCOMES",
    "REGIMENS",
    "SETTINGS",
    "SURVIVAL_OUTCOMES",
    "AddError",
    "AddProblem",
    "AddReport",
    "Issue",
    "ValidationReport",
    "add_rows",
    "add_rows_from_csv",
    "analysis_set",
    "analysis_sets",
    "copy_data",
    "data_dir",
    "data_root",
    "earliest_date",
    "load_extracted",
    "load_published",
    "load_survival",
    "published_file",
    "recover_update",
    "set_exclusions",
    "snapshot",
    "validate",
    "writable_data_dir",
]
