"""What-if scenarios (issue 13): `[[scenarios]]` in eolneeds.toml, modelled per Place and
for the ICB in the latest reporting period.

Three kinds, each giving the people affected, the hospital bed days freed and their cost,
with a low-high range from the confidence limits of the inputs:

* `identification` -- every Place identifies need deaths (on a register before death) at
  the rate of the best Place (`target = "best_place"`) or at a set percentage
  (`target = 75`). People: need deaths x (target - observed rate). Bed days: those
  people x the ICB's difference in mean bed days in the last 90 days of life between
  unidentified and identified need deaths.
* `emergency_admissions` -- emergency admissions in the last 90 days of life fall by
  `reduction_pct`. People: that share of the deaths with an emergency admission. Bed
  days and cost: that share of those admissions' bed days in the window and their cost.
* `usual_place_of_death` -- deaths in the usual place of residence rise to `target_pct`.
  People: deaths x (target - observed DiUPR). Bed days: those people x the ICB's
  difference in mean bed days in the last 90 days between deaths in hospital and deaths
  in the usual place of residence.

Cost is bed days x a cost per bed day: from the activity data (the cost of admissions in
the window that carry one over their whole-stay days), else `[methods]
unit_cost_per_bed_day`; with neither, no cost row. Emergency admissions use their own
costs where present.

The ranges: the observed rates' 95% Wilson intervals (and the best Place's, for its
rate), the 95% Welch t interval of the bed-day difference, and exact Poisson limits of
the number of admissions. They show how far chance alone could move the figure, not the
uncertainty of the assumption itself, which is stated beside each figure.

Disclosure: people affected are computed from the published (already disclosed) rows of
the indicator table; where an input row is hidden the scenario rows of that area are
hidden too. Nothing here is an observed count, so every row has method 'modelled'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eolneeds.errors import ConfigError

# config.py parses [[scenarios]] for every command, `ingest` too: numpy, polars and
# scipy (half a second to import) are imported only by the functions that compute.
if TYPE_CHECKING:
    import polars as pl

KINDS = ("identification", "emergency_admissions", "usual_place_of_death")
METHOD = "modelled"
MEASURES = (("people", "people affected", "people"),
            ("bed_days", "hospital bed days freed", "bed days"),
            ("cost", "cost of the bed days freed", "£"))
_KEYS = {
    "identification": {"id", "kind", "name", "target"},
    "emergency_admissions": {"id", "kind", "name", "reduction_pct"},
    "usual_place_of_death": {"id", "kind", "name", "target_pct"},
}


def scenario_schema() -> dict[str, Any]:
    """The columns of table scenario_results (and ReportBundle.scenarios)."""
    import polars as pl

    return {
        "scenario_id": pl.String, "scenario_name": pl.String, "kind": pl.String,
        "area_type": pl.String, "area_code": pl.String, "area_name": pl.String,
        "period": pl.String, "measure": pl.String, "unit": pl.String, "value": pl.Float64,
        "low": pl.Float64, "high": pl.Float64, "assumptions": pl.String,
        "suppressed": pl.Boolean,
    }


@dataclass(frozen=True)
class Scenario:
    id: str
    kind: str
    name: str
    target: float | None = None  # identification: a percentage; None = the best Place
    reduction_pct: float | None = None
    target_pct: float | None = None

    def describe(self) -> str:
        if self.kind == "identification":
            goal = ("the rate of the best Place" if self.target is None
                    else f"{self.target:g}%")
            return f"every Place identifies need deaths before death at {goal}"
        if self.kind == "emergency_admissions":
            return ("emergency admissions in the last 90 days of life fall by "
                    f"{self.reduction_pct:g}%")
        return f"deaths in the usual place of residence rise to {self.target_pct:g}%"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _percentage(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: key {key!r} must be a number (a percentage), "
                          f"not {value!r}")
    if not 0 <= float(value) <= 100:
        raise ConfigError(f"{where}: key {key!r} is {value!r} — use a percentage from 0 to 100")
    return float(value)


def parse_scenarios(raw: Any, where: str) -> tuple[Scenario, ...]:
    """The `[[scenarios]]` array of eolneeds.toml, checked: errors name the entry and key."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: key 'scenarios' must be an array of tables "
                          "([[scenarios]] entries), not {raw!r}")
    out: list[Scenario] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw, start=1):
        at = f"{where} [[scenarios]] entry {i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: must be a table with keys id, kind and the kind's own")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{at}: key 'kind' is {kind!r} — use one of {', '.join(KINDS)}")
        allowed = _KEYS[kind]
        for key in entry:
            if key not in allowed:
                raise ConfigError(f"{at}: unknown key {key!r} for kind {kind!r} — allowed keys "
                                  f"are {', '.join(sorted(allowed))}; check the spelling")
        ident = entry.get("id")
        if not isinstance(ident, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", ident):
            raise ConfigError(f"{at}: key 'id' is {ident!r} — use a short lower-case name "
                              "(letters, digits, _), e.g. \"identify_like_best\"")
        if ident in seen:
            raise ConfigError(f"{at}: key 'id' {ident!r} is used twice — give each "
                              "scenario its own id")
        seen.add(ident)
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise ConfigError(f"{at}: key 'name' must be text, not {name!r}")
        target = reduction = target_pct = None
        if kind == "identification":
            value = entry.get("target", "best_place")
            if value != "best_place":
                if isinstance(value, str):
                    raise ConfigError(f"{at}: key 'target' is {value!r} — use \"best_place\" "
                                      "or a percentage, e.g. 75")
                target = _percentage(at, "target", value)
        elif kind == "emergency_admissions":
            if "reduction_pct" not in entry:
                raise ConfigError(f"{at}: key 'reduction_pct' is missing — add the fall in "
                                  "emergency admissions, e.g. reduction_pct = 10")
            reduction = _percentage(at, "reduction_pct", entry["reduction_pct"])
        else:
            if "target_pct" not in entry:
                raise ConfigError(f"{at}: key 'target_pct' is missing — add the share of "
                                  "deaths in the usual place of residence, e.g. target_pct = 55")
            target_pct = _percentage(at, "target_pct", entry["target_pct"])
        scenario = Scenario(id=ident, kind=kind, name=name, target=target,
                            reduction_pct=reduction, target_pct=target_pct)
        if not scenario.name:
            scenario = Scenario(id=ident, kind=kind, name=_sentence(scenario.describe()),
                                target=target, reduction_pct=reduction,
                                target_pct=target_pct)
        out.append(scenario)
    return tuple(out)


# ---------------------------------------------------------------------------------------
# Computing


@dataclass(frozen=True)
class _Difference:
    """Mean bed days of group a minus group b, with a 95% Welch interval."""

    value: float
    low: float
    high: float


def _difference(inputs: pl.DataFrame, a: str, b: str) -> _Difference | None:
    import numpy as np
    import polars as pl

    from eolneeds.methods import t_quantile

    rows = {r["grp"]: r for r in inputs.filter(pl.col("area_type") == "icb")
            .iter_rows(named=True)}
    if a not in rows or b not in rows:
        return None
    stats_ = []
    for g in (a, b):
        n = float(rows[g]["deaths"])
        total = float(rows[g]["bed_days"] or 0)
        sumsq = float(rows[g]["bed_days_sumsq"] or 0)
        if n < 2:
            return None
        mean = total / n
        var = max((sumsq - total * total / n) / (n - 1), 0.0)
        stats_.append((n, mean, var))
    (na, ma, va), (nb, mb, vb) = stats_
    diff = ma - mb
    se2 = va / na + vb / nb
    if se2 <= 0:
        return _Difference(diff, diff, diff)
    df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1)) if va or vb else 1e9
    half = float(t_quantile(0.975, df)) * float(np.sqrt(se2))
    return _Difference(diff, diff - half, diff + half)


def cost_per_bed_day(inputs: pl.DataFrame, configured: float | None) -> tuple[float | None, str]:
    """(cost per bed day, where it came from): the data's costed admissions, else the
    configured unit cost, else None."""
    import polars as pl

    icb = inputs.filter((pl.col("area_type") == "icb") & (pl.col("grp") == "all"))
    if icb.height:
        cost = float(icb["costed_cost"][0] or 0)
        days = float(icb["costed_days"][0] or 0)
        if cost > 0 and days > 0:
            return cost / days, (f"£{cost / days:,.0f} per bed day: the cost of admissions "
                                 "with a recorded cost over their bed days")
    if configured is not None:
        return configured, (f"£{configured:,.0f} per bed day ([methods] "
                            "unit_cost_per_bed_day)")
    return None, ""


def _published(frame: pl.DataFrame, indicator: str, period: str) -> dict[tuple[str, str], dict]:
    import polars as pl

    rows = frame.filter((pl.col("indicator_id") == indicator) & (pl.col("period") == period)
                        & (pl.col("breakdown") == "all"))
    return {(r["area_type"], r["area_code"]): r for r in rows.iter_rows(named=True)}


def _not_available(frame: pl.DataFrame, indicator: str, period: str) -> bool:
    """Whether the ICB's row of `indicator` for `period` is not available (a source it
    needs does not cover the period: eolneeds.coverage)."""
    from eolneeds.coverage import NOT_AVAILABLE

    return any(str(r.get("note") or "").startswith(NOT_AVAILABLE)
               for k, r in _published(frame, indicator, period).items() if k[0] == "icb")


def _clip(x: float) -> float:
    return max(x, 0.0)


def _shortfall(row: dict, target: float, target_low: float, target_high: float
               ) -> tuple[float, float, float] | None:
    """People: denominator x (target - observed), and its range from the observed 95% CI
    and the target's own; None where the row is hidden."""
    if row["suppressed"] or row["value"] is None or row["denominator"] is None:
        return None
    n = float(row["denominator"])
    p = float(row["value"]) / 100
    p_lo = float(row["lower_ci_95"]) / 100 if row["lower_ci_95"] is not None else p
    p_hi = float(row["upper_ci_95"]) / 100 if row["upper_ci_95"] is not None else p
    return (_clip(n * (target - p)), _clip(n * (target_low - p_hi)),
            _clip(n * (target_high - p_lo)))


def compute_scenarios(
    scenarios: tuple[Scenario, ...], frame: pl.DataFrame, inputs: pl.DataFrame, period: str,
    *, unit_cost: float | None, icb_code: str,
) -> pl.DataFrame:
    """scenario_schema() rows: every scenario x area (ICB and each Place) x measure.
    `frame` is the disclosed indicator table; `inputs` the result of
    queries/scenario_inputs.sql for `period` (area_code NULL for the ICB)."""
    import numpy as np
    import polars as pl

    from eolneeds import methods

    rows: list[dict[str, Any]] = []
    per_day, cost_source = cost_per_bed_day(inputs, unit_cost)
    names = {(r["area_type"], r["area_code"]): r["area_name"] for r in frame.select(
        "area_type", "area_code", "area_name").unique().iter_rows(named=True)}
    areas = sorted(names, key=lambda k: (k[0] != "icb", k[1]))

    def emit(s: Scenario, area: tuple[str, str], values: dict[str, tuple[float, float, float]
                                                               | None], text: str) -> None:
        for measure, _label, unit in MEASURES:
            got = values.get(measure)
            hidden = got is None and values.get("people") is None
            if got is None and not hidden:
                continue  # e.g. no cost per bed day: no cost row
            rows.append({
                "scenario_id": s.id, "scenario_name": s.name, "kind": s.kind,
                "area_type": area[0], "area_code": area[1], "area_name": names[area],
                "period": period, "measure": measure, "unit": unit,
                "value": None if got is None else got[0],
                "low": None if got is None else got[1],
                "high": None if got is None else got[2],
                "assumptions": text, "suppressed": hidden,
            })

    def area_inputs(area: tuple[str, str]) -> dict[str, dict]:
        sel = inputs.filter(pl.col("area_type") == area[0])
        if area[0] == "place":
            sel = sel.filter(pl.col("area_code") == area[1])
        return {r["grp"]: r for r in sel.iter_rows(named=True)}

    for s in scenarios:
        if s.kind in ("identification", "usual_place_of_death"):
            indicator = "on_register_need_pct" if s.kind == "identification" else "diupr_pct"
            published = _published(frame, indicator, period)
            if s.kind == "identification":
                diff = _difference(inputs, "need_unidentified", "need_identified")
            else:
                diff = _difference(inputs, "hospital", "usual_residence")
            if _not_available(frame, "bed_days_last90_mean", period):
                diff = None  # the admitted care data do not cover the period (coverage.py)
            target_text = ""
            if s.kind == "identification" and s.target is None:
                places = [r for k, r in published.items() if k[0] == "place"
                          and not r["suppressed"] and r["value"] is not None]
                if not places:
                    continue
                best = max(places, key=lambda r: (r["value"], r["area_code"]))
                target = best["value"] / 100
                t_lo = (best["lower_ci_95"] or best["value"]) / 100
                t_hi = (best["upper_ci_95"] or best["value"]) / 100
                target_text = (f"the best Place, {best['area_name']}, identifies "
                               f"{best['value']:.1f}% (95% CI {t_lo * 100:.1f}-"
                               f"{t_hi * 100:.1f}%)")
            else:
                pct = s.target if s.kind == "identification" else s.target_pct
                assert pct is not None
                target = t_lo = t_hi = pct / 100
                target_text = f"a target of {pct:g}%"
            base = ("need deaths identified on a register before death"
                    if s.kind == "identification"
                    else "deaths in the usual place of residence (home, care home, "
                         "religious establishment)")
            groups = (("unidentified", "identified") if s.kind == "identification"
                      else ("in hospital", "in the usual place of residence"))
            text = (f"Modelled, not observed. {_sentence(s.describe())}: {target_text}; "
                    f"people = the {base.split(' (')[0]} still needed to reach it (none where "
                    f"a Place is already there). ")
            if diff is not None:
                text += (f"Each frees the ICB's difference in mean hospital bed days in the "
                         f"last 90 days of life between deaths {groups[0]} and {groups[1]}: "
                         f"{diff.value:.1f} (95% CI {diff.low:.1f} to {diff.high:.1f}) — "
                         "an observed difference, assumed to be caused by the change. ")
            if per_day is not None:
                text += f"Cost: {cost_source}. "
            text += ("Range: the 95% confidence limits of the observed rate"
                     + (" and of the best Place's" if s.kind == "identification"
                        and s.target is None else "")
                     + (" and of the bed-day difference." if diff is not None else "."))
            for area in areas:
                row = published.get(area)
                people = None if row is None else _shortfall(row, target, t_lo, t_hi)
                values: dict[str, tuple[float, float, float] | None] = {"people": people}
                if people is not None and diff is not None:
                    beds = (people[0] * _clip(diff.value), people[1] * _clip(diff.low),
                            people[2] * _clip(diff.high))
                    values["bed_days"] = beds
                    if per_day is not None:
                        values["cost"] = (beds[0] * per_day, beds[1] * per_day,
                                          beds[2] * per_day)
                emit(s, area, values, text)
        else:
            share = (s.reduction_pct or 0) / 100
            published = _published(frame, "ea_last90_any_pct", period)
            text = (f"Modelled, not observed. {_sentence(s.describe())}. People = that "
                    "share of the deaths with an emergency admission in their last 90 days "
                    "(each admission avoided equally likely to be anyone's); bed days and "
                    "cost = that share of those admissions' bed days in the window and of "
                    "their cost (the spell's own cost, else bed days x the unit cost). "
                    "Range: exact Poisson 95% limits of the number of admissions.")
            for area in areas:
                row = published.get(area)
                got = area_inputs(area).get("all")
                if row is None or row["suppressed"] or row["numerator"] is None or got is None:
                    emit(s, area, {"people": None}, text)
                    continue
                admissions = float(got["ea_admissions"] or 0)
                if admissions > 0:
                    lo, hi = methods.exact_poisson_limits(np.array([admissions]))
                    f_lo, f_hi = float(lo[0]) / admissions, float(hi[0]) / admissions
                else:
                    f_lo = f_hi = 1.0
                spared = float(row["numerator"]) * share
                freed = float(got["ea_bed_days"] or 0) * share
                money = float(got["ea_cost"] or 0) * share
                values = {"people": (spared, spared * f_lo, spared * f_hi),
                          "bed_days": (freed, freed * f_lo, freed * f_hi)}
                if money > 0:
                    values["cost"] = (money, money * f_lo, money * f_hi)
                emit(s, area, values, text)
    frame_out = pl.DataFrame(rows, schema=scenario_schema())
    return frame_out.with_columns(
        pl.when(pl.col("area_type") == "icb").then(pl.lit(icb_code))
        .otherwise(pl.col("area_code")).alias("area_code"))


def indicator_rows(table: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """The scenarios as rows of the indicator table (its schema): indicator
    `scenario_<id>_<measure>`, method 'modelled', the range in the 95% columns, the
    assumptions in `note`; no numerator or denominator."""
    import polars as pl

    if table.height == 0:
        return frame.clear()
    bounds = frame.select("period", "period_start", "period_end").unique(subset="period")
    measure_label = {m: label for m, label, _ in MEASURES}
    out = table.join(bounds, on="period", how="left").select(
        pl.concat_str([pl.lit("scenario_"), pl.col("scenario_id"), pl.lit("_"),
                       pl.col("measure")]).alias("indicator_id"),
        (pl.col("scenario_name") + pl.lit(": ")
         + pl.col("measure").replace_strict(measure_label, return_dtype=pl.String))
        .alias("indicator_name"),
        "area_type", "area_code", "area_name", "period", "period_start", "period_end",
        pl.lit("all").alias("breakdown"), pl.lit("all").alias("breakdown_value"),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
        "value",
        pl.col("low").alias("lower_ci_95"), pl.col("high").alias("upper_ci_95"),
        pl.lit(None, pl.Float64).alias("lower_ci_99_8"),
        pl.lit(None, pl.Float64).alias("upper_ci_99_8"),
        "unit", pl.lit(METHOD).alias("method"), pl.lit("not_compared").alias("comparison"),
        "suppressed",
        pl.when(pl.col("suppressed"))
        .then(pl.lit("suppressed: an input of this scenario is suppressed; ")
              + pl.col("assumptions"))
        .otherwise(pl.col("assumptions")).alias("note"),
    )
    return out.select([pl.col(c).cast(frame.schema[c]) for c in frame.columns])


def store_scenarios(con: Any, table: pl.DataFrame) -> None:
    """Replace table `scenario_results` in the project database."""
    con.register("scenario_results_frame", table.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TABLE scenario_results AS "
                    "SELECT * FROM scenario_results_frame")
    finally:
        con.unregister("scenario_results_frame")


def add_scenarios(config: Any, con: Any, frame: pl.DataFrame, period: str,
                  params: dict[str, Any]) -> pl.DataFrame:
    """Compute config.scenarios for `period`, store table scenario_results, and return
    the indicator table with the scenario rows added (deaths_in_scope, assess_periods
    must exist on `con`)."""
    import polars as pl

    from eolneeds.assess import run_query

    table = pl.DataFrame(schema=scenario_schema())
    if config.scenarios:
        inputs = run_query(con, "scenario_inputs", {**params, "period": period})
        assert inputs is not None
        table = compute_scenarios(config.scenarios, frame, inputs, period,
                                  unit_cost=config.methods.unit_cost_per_bed_day,
                                  icb_code=config.icb_code)
    store_scenarios(con, table)
    if table.height == 0:
        return frame
    return pl.concat([frame, indicator_rows(table, frame)])
