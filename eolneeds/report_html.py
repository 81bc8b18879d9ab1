"""ReportBundle -> one self-contained HTML report (CSS inline, charts as inline SVG).

The report opens with key findings written from the data, then answers, for the ICB
and for each Place, the seven questions of DESIGN.md section 6, then gives England
alongside, inequalities, projections to 2040, monthly SPC charts, the data quality
tables, and a definitions-and-methods page generated from the catalogue.

Shape (the datasette habit): `build_context(bundle)` runs one builder per section
(eolneeds.report_sections) over the shared look-ups (eolneeds.report_context) and
fills the typed ReportContext; the Jinja2 templates in report_templates/ only lay it
out. Templates are autoescaped and every number is formatted by eolneeds.formatting.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from eolneeds.bundle import ReportBundle, suppression_tally
from eolneeds.catalogue import load_summaries
from eolneeds.formatting import FILTERS, plural
from eolneeds.report_context import (
    FUNNEL_INDICATORS,
    Chart,
    Indicators,
    ReportContext,
    ReportData,
    assessment,
    period_kind,
)
from eolneeds.report_sections import (
    DefinitionsSection,
    EnglandSection,
    FindingsSection,
    InequalitySection,
    OverviewSection,
    PlaceSections,
    ProjectionSection,
    ProvenanceSection,
    QualitySection,
    SpcSection,
    _method_descriptions,
)
from eolneeds.resources import templates_dir
from eolneeds.safety import shown_plainly

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"


def build_context(bundle: ReportBundle) -> ReportContext:
    """The typed context of the whole report, section by section in page order."""
    r = ReportData(bundle)
    findings = FindingsSection(r).findings()
    overview = OverviewSection(r)
    overview_charts: list[Chart] = []
    pod = r.pod_chart([r.icb, *r.places], r.unique_id("pod", "overview"),
                      "Place of death, ICB and Places")
    if pod:
        overview_charts.append(pod)
    overview_notes: list[str] = []
    for ind_id in FUNNEL_INDICATORS:
        if r.data.has(ind_id):
            chart = overview.funnel(ind_id)
            if chart:
                overview_charts.append(chart)
            else:
                missing = overview.funnel_missing(ind_id)
                if missing:
                    overview_notes.append(missing)
    places = [PlaceSections(r).place_section(code) for code in r.places]
    england_table, england_sources = EnglandSection(r).england_section()
    inequality_charts, inequality_table = InequalitySection(r).inequality_section()
    projection_chart, projection_table = ProjectionSection(r).projection_section()
    dq_tables, dq_descriptions = QualitySection(r).data_quality_tables()
    provenance = ProvenanceSection(r)
    sources, software, queries, coverage = provenance.manifest_tables()
    tally = suppression_tally(bundle.indicators)
    generated = bundle.generated_at.strftime("%d %B %Y, %H:%M").lstrip("0")
    return ReportContext(
        title=f"Palliative and end-of-life care needs assessment: {r.icb_label}",
        icb_name=r.icb_label, icb_code=r.icb, headline_period=r.period,
        generated=generated, software_version=bundle.software_version,
        contact=r.config.contact,
        disclosure_rule=provenance.disclosure_rule(),
        disclosure_total=tally.headline(where="the indicator table behind this report"),
        disclosure_notes=[f"{reason}: {n:,} {plural(n, 'value')}"
                          for reason, n in tally.by_rule],
        disclosure_where=tally.where_sentence(),
        findings=findings,
        overview_table=overview.overview(), overview_charts=overview_charts,
        overview_notes=overview_notes,
        england_table=england_table, england_sources=england_sources,
        places=places, inequality_charts=inequality_charts,
        inequality_table=inequality_table,
        inequality_gradients=next((list(v.finding.more) for v in findings
                                   if v.finding.key == "inequality"), []),
        projection_chart=projection_chart,
        projection_table=projection_table, spc_blocks=SpcSection(r).spc_blocks(),
        data_quality=dq_tables, data_quality_descriptions=dq_descriptions,
        definitions=DefinitionsSection(r).definitions(), methods=_method_descriptions(),
        summaries=[(s.name, s.definition) for s in load_summaries()],
        sources=sources, software=software, queries=queries, coverage=coverage,
        css=Markup(_stylesheet()),
    )


# ----------------------------------------------------------------------------------
# Templates
# ----------------------------------------------------------------------------------


def _load_template(name: str) -> str:
    # Templates ship as package data (eolneeds.report_templates): found the same way
    # from a checkout, an editable install or a wheel.
    resource = templates_dir()
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise jinja2.TemplateNotFound(name)
        resource = resource / part
    if not resource.is_file():
        raise jinja2.TemplateNotFound(name)
    return resource.read_text(encoding="utf-8")


def _shown_plainly(value: Any) -> Any:
    """Every value a template prints, with control and text-direction characters from
    the input data replaced (safety.shown_plainly); markup stays markup."""
    if isinstance(value, Markup):
        return Markup(shown_plainly(str(value)))
    return shown_plainly(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,  # every value from the input data is escaped
        finalize=_shown_plainly,
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly in tests
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def _stylesheet() -> str:
    return _load_template(STYLESHEET)


def render_html(bundle: ReportBundle) -> str:
    """The whole report as one HTML string (UTF-8, self-contained)."""
    context = build_context(bundle)
    return environment().get_template(TEMPLATE).render(report=context)


def write_html_report(bundle: ReportBundle, path: Path) -> None:
    """Render the report and write it atomically to `path`."""
    html = render_html(bundle)
    try:
        from eolneeds.outputs import atomic_write_text
    except ImportError:  # pragma: no cover - outputs ships with the package
        Path(path).write_text(html, encoding="utf-8", newline="\n")
        return
    atomic_write_text(Path(path), html)


__all__ = ["build_context", "render_html", "write_html_report", "period_kind",
           "ReportContext", "Indicators", "assessment"]
