"""England-scale benchmark (make bench).

1. Generates England-scale synthetic data with `eolneeds sample` (cached in bench/data/
   keyed by size and seed; delete the folder to regenerate).
2. In the same run, times a bare DuckDB `CREATE TABLE AS SELECT * FROM read_csv(...)` of
   every input file; the same bare load with the person identifier pseudonymised and
   nothing else (HMAC-SHA256 once per distinct identifier, joined back: the cheapest
   load that keeps the privacy rule, a floor for any ingest); then `eolneeds ingest
   --inbox` of the same files, in one process as an analyst's `ingest --inbox` and a
   scheduler's `run` load them (the figure the ratio is taken from); then, unless
   BENCH_PER_FILE=0, `eolneeds ingest` once per file (one process each: the yardstick
   before 2026-12-02 12:00, and each file's own CPU seconds). Reports the ratios and the
   peak memory of each (the machine is shared and noisy: compare ratios in one run).
   Then the same comparison for one wide, HES-shaped extract (100 columns, 6 mapped), as
   real extracts are.
3. Times `eolneeds assess` on the ingested database (target < 60 s, < 4 GB peak).
4. Output rendering against the indicator table, side by side in one process, at ICB
   scale (BENCH_ICB_DEATHS, default 51,500 deaths: about 1.5 M residents; its own
   cached project) and at England scale: the indicator table as `assess --format
   csv,parquet` makes it, then the HTML report and every Excel pack from the same
   bundle; then both whole commands. `BENCH_ONLY=outputs` runs only this step (on the
   England data a previous full run left ingested; there without the whole commands).
   `BENCH_ONLY=ingest` runs only steps 1 and 2's loads of the England files (results in
   bench/out/results-ingest.json).
5. Times DSR over 10,000 groups.

Every step runs as a child process so its peak resident memory (ru_maxrss) is its own.
Results go to bench/out/results.json and are printed; BENCHMARKS.md records them with the
machine's figures. Environment: BENCH_DEATHS (default 2,850,000), BENCH_SEED (1).
POSIX only (uses os.wait4 for the children's resource usage).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
EOLNEEDS = str(BIN / "eolneeds")
DEATHS = int(os.environ.get("BENCH_DEATHS", "2850000"))
SEED = int(os.environ.get("BENCH_SEED", "1"))
DATA = HERE / "data" / f"england-{DEATHS}-{SEED}"
OUT = HERE / "out"


def run_child(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
              ) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB)."""
    elapsed, rss, _ = run_child_cpu(args, cwd=cwd, env=env)
    return elapsed, rss


def run_child_cpu(args: list[str], *, cwd: Path | None = None,
                  env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB, CPU seconds: user + system
    of all its threads). On a shared machine wall seconds stretch with the load; CPU
    seconds much less."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"benchmark step failed (exit {code}): {' '.join(args)}")
    # ru_maxrss is KiB on Linux.
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def machine() -> dict[str, object]:
    info: dict[str, object] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
        info["memory_gib"] = round(int(meminfo[0].split()[1]) / 1024 / 1024, 1)
        cpu = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
            if line.startswith("model name")
        ]
        info["cpu"] = cpu[0] if cpu else "unknown"
    except OSError:
        pass
    return info


def input_files(project: Path) -> list[tuple[str, Path, str | None]]:
    sys.path.insert(0, str(HERE.parent))
    from eolneeds.sample import sample_files

    # The bare load reads CSV: the one workbook (the small ODS practice-to-PCN lookup,
    # no identifiers) is left out of all three steps alike, so they stay comparable.
    return [f for f in sample_files(project) if f[1].name.endswith((".csv", ".csv.gz"))]


def bare_load_script(files: list[Path], db: Path) -> str:
    loads = "\n".join(
        f"con.execute(\"CREATE TABLE t{i} AS SELECT * FROM read_csv('{f.as_posix()}')\")"
        for i, f in enumerate(files)
    )
    return (
        "import duckdb\n"
        f"con = duckdb.connect('{db.as_posix()}')\n"
        "con.execute(\"SET memory_limit='3GB'\")\n"
        f"{loads}\ncon.close()\n"
    )


def identifier_columns(project: Path) -> dict[str, str]:
    """File path -> the source column that holds its person identifier (as ingest would
    map it), for the files that have one."""
    sys.path.insert(0, str(HERE.parent))
    from eolneeds.config import load_config
    from eolneeds.presets import get_preset

    config = load_config(project)
    found: dict[str, str] = {}
    for dataset, path, mapping_name in input_files(project):
        if dataset not in ("deaths", "register", "activity"):
            continue
        mapping = config.mapping_for(dataset, mapping_name)
        column: object = mapping.columns.get("person_id")
        if column is None and mapping.preset:
            preset = get_preset(mapping.preset,
                                emergency_methods=config.methods.emergency_admission_methods,
                                where=mapping.name)
            column = preset.columns.get("person_id")
        if isinstance(column, (list, tuple)):  # a preset's known names: this file's one
            with path.open(encoding="utf-8-sig") as fh:
                header = fh.readline().rstrip("\r\n").split(",")
            column = next((c for c in column if c in header), None)
        found[str(path)] = column if isinstance(column, str) else "person_id"
    return found


def pseudonymised_load_script(files: list[Path], ids: dict[str, str], db: Path) -> str:
    """The bare load, with the identifier column replaced by its HMAC-SHA256 (computed
    once per distinct value, as ingest does) -- and no other work."""
    loads = []
    for i, f in enumerate(files):
        source = f"read_csv('{f.as_posix()}')"
        column = ids.get(str(f))
        if column is None:
            loads.append(f"con.execute(\"CREATE TABLE t{i} AS SELECT * FROM {source}\")")
            continue
        quoted = '\\"' + column + '\\"'
        loads.append(
            f"con.execute(\"CREATE TABLE t{i} AS WITH r AS (SELECT * FROM {source}), "
            f"l AS (SELECT k, \" + hmac_sql('CAST(k AS VARCHAR)') + \" AS pid FROM "
            f"(SELECT DISTINCT {quoted} AS k FROM r)) SELECT r.* REPLACE (l.pid AS {quoted}) "
            f"FROM r JOIN l ON l.k = r.{quoted}\", pads)"
        )
    return (
        "import duckdb\n"
        "from eolneeds.normalise import hmac_pads, pseudonymise_sql\n"
        "inner, outer = hmac_pads(b'benchmark-key')\n"
        "pads = {'inner': inner, 'outer': outer}\n"
        "def hmac_sql(expr):\n"
        "    return pseudonymise_sql(expr, '$inner', '$outer')\n"
        f"con = duckdb.connect('{db.as_posix()}')\n"
        "con.execute(\"SET memory_limit='3GB'\")\n"
        + "\n".join(loads) + "\ncon.close()\n"
    )


WIDE_ROWS = 1_000_000
WIDE_FILLERS = 94  # a real HES APC extract has well over 100 columns; six are mapped


def wide_extract_script(hes: Path, target: Path) -> str:
    """A script writing a HES-shaped extract: the first WIDE_ROWS spells of the synthetic
    HES file with WIDE_FILLERS more columns of codes, dates and text that no mapping
    reads, as a real extract has (diagnosis and procedure codes, episode dates, provider
    fields). Each filler is a function of the spell's own fields, so it is deterministic.
    Run as a child, like every step, so this process stays small: a forked child's
    peak memory counts what it inherits."""
    seed = "hash(PERSON_ID, ADMIDATE, DISDATE, ADMIMETH)"
    kinds = [
        "'Z' || lpad(CAST(({seed} // {k}) % 997 AS VARCHAR), 3, '0')",             # a code
        "CAST(DATE '2020-01-01' + CAST(({seed} // {k}) % 2000 AS INTEGER) AS VARCHAR)",
        "CASE WHEN ({seed} // {k}) % 5 = 0 THEN NULL "                            # text
        "ELSE 'free text ' || (({seed} // {k}) % 10007) END",
    ]
    fillers = ", ".join(f"{kinds[k % 3].format(seed=seed, k=k + 1)} AS FIELD_{k + 1:03d}"
                        for k in range(WIDE_FILLERS))
    query = (f"SELECT *, {fillers} FROM (SELECT * FROM read_csv('{hes.as_posix()}', "
             f"all_varchar = true) LIMIT {WIDE_ROWS})")
    return (
        "import duckdb\n"
        "con = duckdb.connect()\n"
        "con.execute(\"SET memory_limit='3GB'\")\n"
        f"con.execute({f'COPY ({query}) TO ' + repr(target.as_posix()) + ' (HEADER)'!r})\n"
        f"rows = con.execute(\"SELECT count(*) FROM read_csv('{target.as_posix()}')\")"
        ".fetchone()[0]\n"
        f"open({str(target.parent / '.complete')!r}, 'w', encoding='utf-8').write(str(rows))\n"
    )


def bench_wide_extract(env: dict[str, str]) -> dict[str, object]:
    """Bare load against `eolneeds ingest` of one wide HES-shaped extract."""
    folder = HERE / "data" / f"wide-hes-{DEATHS}-{SEED}"
    wide = folder / "hes_apc_wide.csv"
    marker = folder / ".complete"  # holds the row count
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"Generating a {WIDE_FILLERS + 6}-column HES-shaped extract ...", flush=True)
        script = OUT / "wide_extract.py"
        script.write_text(wide_extract_script(
            DATA / "inbox" / "activity" / "hes_apc_spells.csv", wide), encoding="utf-8")
        run_child([sys.executable, str(script)], env=env)
    rows = int(marker.read_text(encoding="utf-8"))
    project = OUT / "wide-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copy(DATA / "eolneeds.toml", project / "eolneeds.toml")
    shutil.copytree(DATA / "mappings", project / "mappings")
    bare_db = OUT / "wide_bare.duckdb"
    bare_db.unlink(missing_ok=True)
    script = OUT / "wide_bare_load.py"
    script.write_text(bare_load_script([wide], bare_db), encoding="utf-8")
    print("Wide extract: bare load, then eolneeds ingest ...", flush=True)
    bare_secs, bare_rss = run_child([sys.executable, str(script)], env=env)
    bare_db.unlink(missing_ok=True)
    secs, rss = run_child([EOLNEEDS, "--quiet", "ingest", "activity", str(wide), "--mapping",
                           "hes_apc", "--project", str(project)], env=env)
    shutil.rmtree(project, ignore_errors=True)
    return {"rows": rows, "columns": WIDE_FILLERS + 6, "mapped_columns": 6,
            "bytes": wide.stat().st_size, "bare_duckdb_seconds": round(bare_secs, 1),
            "bare_duckdb_peak_rss_mib": round(bare_rss), "eolneeds_seconds": round(secs, 1),
            "eolneeds_peak_rss_mib": round(rss), "ratio": round(secs / bare_secs, 2)}


DSR_SCRIPT = """
import time, numpy as np, polars as pl
from eolneeds.methods import dsr_frame
from eolneeds.schema import AGE_BANDS_ESP
rng = np.random.default_rng(1)
groups = 10_000
bands = list(AGE_BANDS_ESP)
frame = pl.DataFrame({
    "group": np.repeat(np.arange(groups), len(bands)),
    "age_band": bands * groups,
    "count": rng.poisson(20, groups * len(bands)),
    "population": rng.integers(1000, 5000, groups * len(bands)).astype(float),
})
start = time.perf_counter()
result = dsr_frame(frame, ["group"])
elapsed = time.perf_counter() - start
assert result.height == groups
print(f"{elapsed:.4f}")
"""


ICB_DEATHS = int(os.environ.get("BENCH_ICB_DEATHS", "51500"))  # about 1.5 M residents

OUTPUTS_SCRIPT = """
import json, os, resource, sys, time
from pathlib import Path
from eolneeds.assess import AssessOptions, assess_command
from eolneeds.config import load_config
from eolneeds.render import worker_for, write_outputs
from eolneeds.reporting import Reporter

project, out = Path(sys.argv[1]), Path(sys.argv[2])
load = os.getloadavg()[0]
places = len(load_config(project).places)
# As `assess` with every output does (assess_project): the worker process that shares
# the Excel packs is started first, so its start-up runs alongside the table and is in
# the table's seconds, not the rendering's.
with worker_for(1 + 1 + places) as worker:
    start, cpu = time.perf_counter(), time.process_time()
    # The indicator table as `assess --format csv,parquet` makes it: compute, validate,
    # manifest, CSV and Parquet.
    result = assess_command(project, AssessOptions(formats=["csv", "parquet"], out=out),
                            reporter=Reporter())
    table, table_cpu = time.perf_counter() - start, time.process_time() - cpu
    table_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bundle = result.bundle
    targets = [(out / "pack-icb.xlsx", None)] + [(out / f"pack-{c}.xlsx", c)
                                                 for c in bundle.places]
    # Every output as `assess` writes them (eolneeds.render.write_outputs): the report
    # here, then packs, the worker writing packs from the moment it has the bundle.
    start, cpu = time.perf_counter(), time.process_time()
    stamps = {}
    rendered = write_outputs(
        bundle, html=out / "report.html", packs=targets, worker=worker or False,
        written=lambda path: stamps.setdefault(path.name, time.perf_counter()))
    rendering = time.perf_counter() - start
    rendering_cpu = time.process_time() - cpu
html = stamps["report.html"] - start
worker_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "indicator_rows": bundle.indicators.height, "places": len(bundle.places),
    "indicator_table_seconds": round(table, 2), "html_seconds": round(html, 2),
    # The packs' wall time after the report (the worker writes packs during the report)
    "excel_packs_seconds": round(rendering - html, 2),
    # Each pack's own seconds, and which process wrote it
    "excel_seconds_per_pack": {
        w.path.name: [round(w.seconds, 2), "worker" if w.worker else "main"]
        for w in rendered[1:]},
    "worker": worker is not None,
    "rendering_seconds": round(rendering, 2),
    "rendering_over_table": round(rendering / table, 2),
    # CPU seconds (all threads) and the load average: on a shared machine the wall
    # seconds above stretch with the load; CPU seconds much less. The worker's are its
    # start-up (during the table) and its packs.
    "indicator_table_cpu_seconds": round(table_cpu, 2),
    "rendering_cpu_seconds_main": round(rendering_cpu, 2),
    "worker_cpu_seconds": round(worker_usage.ru_utime + worker_usage.ru_stime, 2),
    "load_average_at_start": round(load, 1), "load_average_at_end": round(os.getloadavg()[0], 1),
    "peak_rss_mib_after_table": round(table_rss),
    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "worker_peak_rss_mib": round(worker_usage.ru_maxrss / 1024),
}))
"""


def inbox_project(files: list[tuple[str, Path, str | None]]) -> Path:
    """A project whose inbox holds exactly the benchmark's files (the CSVs: the bare load
    reads CSV), under their own names, with the England project's configuration and
    mappings: `ingest --inbox` then loads what the bare load reads, with the mappings
    the per-file step names. The files are hard links (a link in the inbox is never
    followed), or copies on another volume."""
    project = OUT / "england-inbox"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copy(DATA / "eolneeds.toml", project / "eolneeds.toml")
    shutil.copytree(DATA / "mappings", project / "mappings")
    for dataset, path, _ in files:
        folder = project / "inbox" / dataset
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, folder / path.name)
        except OSError:
            shutil.copy(path, folder / path.name)
    return project


def ingest_project(project: Path, env: dict[str, str]) -> float:
    """`eolneeds ingest` of every file of a generated project, one process per file."""
    seconds = 0.0
    for dataset, path, mapping in input_files(project):
        args = [EOLNEEDS, "--quiet", "ingest", dataset, str(path), "--project", str(project)]
        if mapping:
            args += ["--mapping", mapping]
        seconds += run_child(args, env=env)[0]
    return seconds


def bench_outputs(project: Path, label: str, env: dict[str, str], *,
                  commands: bool = True) -> dict[str, object]:
    """The indicator table against every output, in one process, side by side: the
    table as `assess --format csv,parquet` makes it, then the HTML report and every
    Excel pack from the same bundle. Then, with `commands`, the two whole commands as
    a user runs them (`assess --format csv,parquet` and `assess` with every output)."""
    out = OUT / f"outputs-{label}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    print(f"{label}: indicator table, then every output ...", flush=True)
    proc = subprocess.run([sys.executable, "-c", OUTPUTS_SCRIPT, str(project), str(out)],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed: outputs {label}\n{proc.stderr}")
    found: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    if not commands:
        return found
    tables, _ = run_child([EOLNEEDS, "--quiet", "assess", "--project", str(project),
                           "--format", "csv,parquet", "--out", str(out)], env=env)
    shutil.rmtree(out, ignore_errors=True)
    everything, rss = run_child([EOLNEEDS, "--quiet", "assess", "--project", str(project),
                                 "--out", str(out)], env=env)
    shutil.rmtree(out, ignore_errors=True)
    found["command_tables_seconds"] = round(tables, 1)
    found["command_all_outputs_seconds"] = round(everything, 1)
    found["command_all_outputs_peak_rss_mib"] = round(rss)
    found["command_rendering_over_table"] = round((everything - tables) / tables, 2)
    return found


def icb_project(env: dict[str, str]) -> Path:
    """An ICB-scale project (about 1.5 M residents, 3 years), generated and ingested
    once (cached in bench/data/)."""
    project = HERE / "data" / f"icb-{ICB_DEATHS}-{SEED}"
    marker = project / ".ingested"
    if not marker.exists():
        shutil.rmtree(project, ignore_errors=True)
        print(f"Generating and ingesting an ICB-scale project ({ICB_DEATHS:,} deaths) ...",
              flush=True)
        run_child([EOLNEEDS, "--quiet", "sample", str(project), "--deaths", str(ICB_DEATHS),
                   "--seed", str(SEED)], env=env)
        ingest_project(project, env)
        marker.write_text("ok", encoding="utf-8")
    return project


def compile_package() -> None:
    """Compile eolneeds to bytecode, as `pip install` of the wheel does. The benchmark
    runs the editable install, whose modules are compiled from source in every process
    when no bytecode is cached (PYTHONDONTWRITEBYTECODE, as on the shared development
    machine): 0.1-0.15 CPU s per `eolneeds ingest` process that an installed eolneeds
    never pays. Stale bytecode is never used (Python checks each source's time and size)."""
    import compileall

    compileall.compile_dir(str(HERE.parent / "eolneeds"), quiet=1)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    compile_package()
    env = dict(os.environ)
    env.setdefault("EOLNEEDS_KEY", "benchmark-key-not-secret")
    results: dict[str, object] = {"machine": machine(), "deaths": DEATHS, "seed": SEED}
    if os.environ.get("BENCH_ONLY") == "outputs":
        # Only the output-rendering steps (`BENCH_ONLY=outputs make bench`), on the ICB
        # project and on the England data as the last full run left it ingested.
        if not (DATA / ".complete").exists() or not (DATA / "eolneeds.duckdb").exists():
            raise SystemExit("run `make bench` once first: it generates and ingests "
                             "the England-scale data")
        results["outputs_icb_scale"] = bench_outputs(icb_project(env), "icb", env)
        print(json.dumps(results["outputs_icb_scale"]), flush=True)
        # The whole commands at England scale only in a full run: they repeat the
        # assessment twice more (minutes on a shared machine).
        results["outputs_england_scale"] = bench_outputs(DATA, "england", env, commands=False)
        (OUT / "results-outputs.json").write_text(json.dumps(results, indent=2) + "\n",
                                                  encoding="utf-8")
        print(json.dumps(results, indent=2))
        return

    marker = DATA / ".complete"
    if not marker.exists():
        shutil.rmtree(DATA, ignore_errors=True)
        print(f"Generating {DEATHS:,} deaths into {DATA} ...", flush=True)
        secs, rss = run_child([EOLNEEDS, "--quiet", "sample", str(DATA), "--deaths", str(DEATHS),
                               "--seed", str(SEED)], env=env)
        results["generate"] = {"seconds": round(secs, 1), "peak_rss_mib": round(rss)}
        marker.write_text("ok", encoding="utf-8")
    files = input_files(DATA)
    sizes = {str(f.relative_to(DATA)): f.stat().st_size for _, f, _ in files}
    results["input_bytes"] = sum(sizes.values())

    # Bare DuckDB load of the same files (the floor ingest is compared with).
    bare_db = OUT / "bare.duckdb"
    bare_db.unlink(missing_ok=True)
    script = OUT / "bare_load.py"
    script.write_text(bare_load_script([f for _, f, _ in files], bare_db), encoding="utf-8")
    print("Bare DuckDB read_csv load ...", flush=True)
    bare_secs, bare_rss, bare_cpu = run_child_cpu([sys.executable, str(script)], env=env)
    bare_db.unlink(missing_ok=True)

    # The floor: the bare load plus pseudonymising the identifier, nothing else.
    floor_db = OUT / "floor.duckdb"
    floor_db.unlink(missing_ok=True)
    script = OUT / "pseudonymised_load.py"
    script.write_text(pseudonymised_load_script([f for _, f, _ in files],
                                                identifier_columns(DATA), floor_db),
                      encoding="utf-8")
    print("Bare load + pseudonymised identifier ...", flush=True)
    floor_secs, floor_rss, floor_cpu = run_child_cpu([sys.executable, str(script)], env=env)
    floor_db.unlink(missing_ok=True)

    # eolneeds ingest of the same files in one process (`ingest --inbox`), into a fresh
    # database: the figure compared with the floor.
    project = inbox_project(files)
    print("eolneeds ingest --inbox (one process) ...", flush=True)
    inbox_secs, inbox_rss, inbox_cpu = run_child_cpu(
        [EOLNEEDS, "--quiet", "ingest", "--inbox", "--project", str(project)], env=env)
    loaded = [str(f.relative_to(DATA)) for _, f, _ in files]
    results["ingest"] = {
        "how": "eolneeds ingest --inbox: every file in one process",
        "files": loaded,
        "bare_duckdb_seconds": round(bare_secs, 1),
        "bare_duckdb_peak_rss_mib": round(bare_rss),
        "eolneeds_seconds": round(inbox_secs, 1),
        "eolneeds_peak_rss_mib": round(inbox_rss),
        "ratio": round(inbox_secs / bare_secs, 2),
        "bare_pseudonymised_seconds": round(floor_secs, 1),
        "bare_pseudonymised_peak_rss_mib": round(floor_rss),
        "bare_pseudonymised_ratio": round(floor_secs / bare_secs, 2),
        "ratio_to_bare_pseudonymised": round(inbox_secs / floor_secs, 2),
        "cpu_seconds": {"bare": round(bare_cpu, 1), "floor": round(floor_cpu, 1),
                        "eolneeds": round(inbox_cpu, 1),
                        "ratio_to_bare_pseudonymised": round(inbox_cpu / floor_cpu, 2)},
        "load_average_at_end": round(os.getloadavg()[0], 1),
        "target_ratio": 1.5,
        "target_peak_rss_mib": 4096,
    }
    if os.environ.get("BENCH_PER_FILE", "1") != "0":
        # The same files, one `eolneeds ingest` process each, into a fresh database of
        # their own: each file's CPU seconds, and the yardstick used before 2026-12-02
        # 12:00 (start-up paid once per file).
        print("eolneeds ingest, one process per file ...", flush=True)
        apart = OUT / "england-per-file"
        shutil.rmtree(apart, ignore_errors=True)
        apart.mkdir(parents=True)
        shutil.copy(DATA / "eolneeds.toml", apart / "eolneeds.toml")
        shutil.copytree(DATA / "mappings", apart / "mappings")
        ingest_secs = ingest_cpu = 0.0
        per_file: dict[str, float] = {}
        per_file_cpu: dict[str, float] = {}
        ingest_rss = 0.0
        for dataset, path, mapping in files:
            args = [EOLNEEDS, "--quiet", "ingest", dataset, str(path), "--project", str(apart)]
            if mapping:
                args += ["--mapping", mapping]
            secs, rss, cpu = run_child_cpu(args, env=env)
            per_file[path.name] = round(secs, 2)
            per_file_cpu[path.name] = round(cpu, 2)
            ingest_secs += secs
            ingest_cpu += cpu
            ingest_rss = max(ingest_rss, rss)
        shutil.rmtree(apart, ignore_errors=True)
        results["ingest_one_process_per_file"] = {
            "eolneeds_seconds": round(ingest_secs, 1),
            "eolneeds_peak_rss_mib": round(ingest_rss),
            "ratio_to_bare_pseudonymised": round(ingest_secs / floor_secs, 2),
            "cpu_seconds": round(ingest_cpu, 1),
            "cpu_ratio_to_bare_pseudonymised": round(ingest_cpu / floor_cpu, 2),
            "eolneeds_seconds_per_file": per_file,
            "eolneeds_cpu_seconds_per_file": per_file_cpu,
            "load_average_at_end": round(os.getloadavg()[0], 1),
        }
    if os.environ.get("BENCH_ONLY") != "ingest":
        # assess and the outputs (below, and BENCH_ONLY=outputs later) read the England
        # project's own database: the one `ingest --inbox` made.
        (DATA / "eolneeds.duckdb.wal").unlink(missing_ok=True)
        os.replace(project / "eolneeds.duckdb", DATA / "eolneeds.duckdb")
    shutil.rmtree(project, ignore_errors=True)

    if os.environ.get("BENCH_ONLY") == "ingest":
        # Only generation and the three loads (`BENCH_ONLY=ingest make bench`): the
        # ingest ratio without the minutes of assess and rendering after it.
        (OUT / "results-ingest.json").write_text(json.dumps(results, indent=2) + "\n",
                                                 encoding="utf-8")
        print(json.dumps(results, indent=2))
        return

    results["ingest_wide_extract"] = bench_wide_extract(env)

    print("eolneeds assess ...", flush=True)
    out_dir = OUT / "assess"
    shutil.rmtree(out_dir, ignore_errors=True)
    secs, rss = run_child([EOLNEEDS, "--quiet", "assess", "--project", str(DATA),
                           "--format", "csv,parquet", "--out", str(out_dir)], env=env)
    results["assess_tables"] = {"seconds": round(secs, 1), "peak_rss_mib": round(rss),
                                "target_seconds": 60, "target_peak_rss_mib": 4096}
    shutil.rmtree(out_dir, ignore_errors=True)
    secs, rss = run_child([EOLNEEDS, "--quiet", "assess", "--project", str(DATA),
                           "--out", str(out_dir)], env=env)
    results["assess_all_outputs"] = {"seconds": round(secs, 1), "peak_rss_mib": round(rss)}

    results["outputs_icb_scale"] = bench_outputs(icb_project(env), "icb", env)
    results["outputs_england_scale"] = bench_outputs(DATA, "england", env)

    print("DSR over 10,000 groups ...", flush=True)
    proc = subprocess.run([sys.executable, "-c", DSR_SCRIPT], capture_output=True, text=True,
                          env=env, check=True)
    results["dsr_10000_groups_seconds"] = float(proc.stdout.strip().splitlines()[-1])

    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
