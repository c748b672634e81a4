"""Text, HTML and Markdown views of result objects (they only read results).

Importing this package registers the views of results (text summary, notebook HTML, methods
paragraph, metafor code; the summaries of meta-regressions and subgroup analyses) with
:func:`inometa.core.results.register_views`, so that ``res.summary()`` works while no result
type ever imports this package.
"""

from __future__ import annotations

from ..core.results import ResultViews, register_views
from .html import result_html
from .methods import methods_text, to_metafor
from .text import metareg_text, subgroup_text, summary_text

register_views(
    ResultViews(
        text=summary_text,
        html=result_html,
        methods=methods_text,
        metafor=to_metafor,
        metareg_text=metareg_text,
        subgroup_text=subgroup_text,
    )
)
