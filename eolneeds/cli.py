"""The command line: parse options, call one core function, translate errors.

Nothing here computes anything. Each command's help starts with an example, and
tests/test_cli_help.py walks every command to keep it that way.
"""

from __future__ import annotations

import os
import shlex
import sys
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from eolneeds import __version__
from eolneeds.config import find_project
from eolneeds.console import ConsoleReporter, visible
from eolneeds.errors import INTERRUPTED_MESSAGE, EolneedsError, ExitCode, UsageError, shell_arg
from eolneeds.formatting import plural
from eolneeds.lock import ProjectLock, ReadOnlyProjectError, project_lock
from eolneeds.normalise import mask_identifiers
from eolneeds.schema import DATASETS

app = typer.Typer(
    name="eolneeds",
    help=(
        "Population needs assessment for palliative and end-of-life care, per Place.\n\n"
        "Example: eolneeds assess   (runs on the bundled synthetic sample and writes "
        "./eolneeds-output/)"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _State:
    debug: bool = False
    reporter: ConsoleReporter = ConsoleReporter()


state = _State()

DATASET_CHOICES = DATASETS

ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="Project folder holding eolneeds.toml (default: the current folder if it "
        "holds one, else the bundled sample).",
        file_okay=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"eolneeds {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    *,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Every event.")] = False,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text (default) or json: one JSON object per event.")
    ] = "text",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Global options go before the command: eolneeds --log-format json run --month 2026-10"""
    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format {log_format!r}: use text or json")
    state.debug = debug
    state.reporter = ConsoleReporter(log_format=log_format, quiet=quiet, verbose=verbose)


def _new_project_folder(text: str) -> Path:
    """DIR of init and sample: never '' (an unset variable in a script, "$DIR", which
    would make the current folder a project), never a file or a path through one."""
    if not text.strip():
        raise UsageError(f"DIR {text!r} is empty — name the folder for the project, e.g. "
                         "eol-2026")
    folder = Path(text)
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if os.path.lexists(existing) and not existing.is_dir():
        raise UsageError(f"{existing} is a file, not a folder — choose a folder for the project")
    return folder


@app.command()
def init(
    directory: Annotated[str, typer.Argument(help="Folder to create the project in.")],
) -> None:
    """Scaffold a project: eolneeds.toml, mappings/, inbox/ and a pseudonymisation key.

    Example: eolneeds init ~/eol-2026
    """
    from eolneeds.project import init_project

    init_project(_new_project_folder(directory), reporter=state.reporter)


@app.command()
def sample(
    directory: Annotated[str, typer.Argument(help="Folder to write the synthetic project to.")],
    *,
    deaths: Annotated[int, typer.Option(help="Approximate number of deaths to generate.")] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 1,
    layout: Annotated[
        str,
        typer.Option(help="standard: files ready to ingest; national: the national layouts "
                     "as published and exported (cp1252 deaths, pipe spells, ONS and IoD "
                     "workbooks, a register workbook) with truth.json, the counts they give."),
    ] = "standard",
    iod: Annotated[
        str, typer.Option(help="With --layout national: the IoD File 1 vintage, 2025 or 2019.")
    ] = "2025",
) -> None:
    """Write a synthetic dataset and a ready project of any size.

    Example: eolneeds sample demo --deaths 20000 --seed 1

    Example: eolneeds sample onboarding --layout national --deaths 1500   (then
    `eolneeds inspect` each file in onboarding/inbox/)
    """
    if deaths < 1:
        raise UsageError("--deaths must be at least 1")
    folder = _new_project_folder(directory)
    if layout == "national":
        from eolneeds.sample_national import write_national_sample

        write_national_sample(folder, deaths=deaths, seed=seed, iod=iod,
                              reporter=state.reporter)
        return
    if layout != "standard":
        raise UsageError(f"--layout {layout!r}: use standard or national")
    from eolneeds.sample import write_sample

    write_sample(folder, deaths=deaths, seed=seed, reporter=state.reporter)


@app.command()
def ingest(
    dataset: Annotated[
        str | None,
        typer.Argument(metavar="DATASET", show_default=False,
                       help=" | ".join(DATASETS) + " (with --inbox: only that folder)"),
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Argument(metavar="FILE...", show_default=False,
                       help="CSV, gzip CSV, XLSX or Parquet files."),
    ] = None,
    *,
    inbox: Annotated[
        bool, typer.Option("--inbox", help="Load every file waiting in the project's "
                           "inbox/<dataset>/ folders, in one go, each with the mapping its "
                           "name chooses (as `run` does; nothing is archived). Files "
                           "already loaded are skipped.")
    ] = False,
    project: ProjectOpt = None,
    mapping: Annotated[str | None, typer.Option(help="Mapping name (mappings/NAME.toml).")] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Force the text encoding, e.g. cp1252 (default: detect).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the earlier load of the same file name "
                           "(or the same bytes), e.g. after a mapping change.")
    ] = False,
    replace_file: Annotated[
        str | None, typer.Option("--replace-file", metavar="OLDNAME",
                                 help="Replace the earlier file OLDNAME with the one FILE "
                                 "given (a corrected extract sent under a new name).")
    ] = None,
) -> None:
    """Load extracts into the project database; every row is loaded or quarantined.

    Example: eolneeds ingest deaths inbox/deaths/deaths_2025.csv --project ~/eol-2026

    Every file waiting in inbox/<dataset>/: eolneeds ingest --inbox --project ~/eol-2026

    A corrected file under a new name: eolneeds ingest deaths deaths_2025_v2.csv
    --replace-file deaths_2025.csv
    """
    from eolneeds.project import require_project

    if dataset is not None and dataset not in DATASET_CHOICES:
        raise UsageError(f"unknown dataset {dataset!r} — use one of {', '.join(DATASET_CHOICES)}")
    if not inbox and (dataset is None or not files):
        raise UsageError("name the dataset and the files to load, e.g. eolneeds ingest "
                         "deaths inbox/deaths/deaths_2025.csv; or give --inbox to load "
                         "every file waiting in the project's inbox/<dataset>/ folders")
    if inbox and files:
        raise UsageError("--inbox loads the files waiting in the project's inbox/<dataset>/ "
                         "folders: name the files to load, or give --inbox, not both")
    # The options that say how to read one file: --inbox reads each with the mapping its
    # name chooses, as `run` does.
    per_file = [text for given, text in (
        (mapping, f"--mapping {shell_arg(mapping or '')}"),
        (encoding, f"--encoding {shell_arg(encoding or '')}"),
        (replace, "--replace"),
        (replace_file, f"--replace-file {shell_arg(replace_file or '')}")) if given]
    if inbox and per_file:
        raise UsageError(f"--inbox reads each waiting file with the mapping its name "
                         f"chooses, and takes no {per_file[0].split()[0]} — name the dataset "
                         f"and the file instead of --inbox: eolneeds ingest DATASET FILE "
                         f"{' '.join(per_file)}")
    config = require_project(project)
    # Hold the project lock so a manual ingest cannot interleave with a scheduled run.
    with project_lock(config.root, command="ingest"):
        if inbox:
            from eolneeds.run import ingest_inbox

            found, loaded, skipped = ingest_inbox(config, dataset=dataset,
                                                  reporter=state.reporter)
            folder = config.inbox / dataset if dataset else config.inbox
            state.reporter.message(
                f"{folder}: {len(loaded)} new {plural(len(loaded), 'file')} loaded"
                + (f", {len(skipped)} skipped (already loaded)" if skipped else "")
                if found else f"{folder}: no files waiting, nothing to load")
            return
        from eolneeds.ingest import ingest_files

        ingest_files(
            config, dataset, files, mapping=mapping, encoding=encoding,  # type: ignore[arg-type]
            replace=replace, replace_file=replace_file, reporter=state.reporter,
        )


@app.command("inspect")
def inspect_command(
    file: Annotated[Path, typer.Argument(help="A CSV, gzip CSV, XLSX or Parquet extract.")],
    *,
    write_mapping: Annotated[
        str | None,
        typer.Option("--write-mapping", metavar="NAME",
                     help="Save mappings/NAME.toml pre-filled with what was found, to check "
                     "and finish (in --project, else the current folder)."),
    ] = None,
    project: ProjectOpt = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="The dataset the mapping is for, when the columns do not say."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Profile this sheet of a workbook (default: the data).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Force the text encoding, e.g. cp1252 (default: detect).")
    ] = None,
) -> None:
    """What a file holds: encoding, sheets, header row, columns, and the preset that reads it.

    Example: eolneeds inspect inbox/deaths/pcmd_deaths_2025.csv --write-mapping pcmd_deaths

    Example values of NHS numbers and other personal columns are never shown.
    """
    from eolneeds.config import CONFIG_FILE, load_config
    from eolneeds.errors import ConfigError, shell_arg
    from eolneeds.inspect import inspect_file, run_choice_text
    from eolneeds.inspect import write_mapping as save_mapping

    if dataset is not None and dataset not in DATASET_CHOICES:
        raise UsageError(f"--dataset {dataset!r}: use one of {', '.join(DATASET_CHOICES)}")
    found = inspect_file(file, encoding=encoding or "auto", sheet=sheet)
    _say(found.render_text(next_step=write_mapping is None))
    if write_mapping is None:
        return
    root = (project or Path.cwd()).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise UsageError(f"{root} is not an eolneeds project (no {CONFIG_FILE}) — pass "
                         "--project DIR, or run inspect in the project folder")
    path = save_mapping(found, write_mapping, root, dataset=dataset)
    try:
        config = load_config(root)
    except ConfigError:
        path.unlink()
        raise
    kind = dataset or found.dataset or ""
    # The command runs as written from anywhere: the file as given, the project named.
    _say(f"Wrote {path}: check it, then eolneeds ingest {kind} "
         f"{shell_arg(file)} --mapping {write_mapping} --project {shell_arg(root)}")
    _say(run_choice_text(config, kind, file, write_mapping))


@app.command()
def validate(*, project: ProjectOpt = None) -> None:
    """Data-quality report; exits 3 when a blocking fault is found.

    Example: eolneeds validate --project ~/eol-2026
    """
    from eolneeds.project import require_project
    from eolneeds.validate import validate_project

    config = require_project(project)
    # The lock keeps a run or an ingest from changing the data mid-report (exit 4 while
    # one runs). A folder this user cannot write is validated without it: DuckDB still
    # refuses to read a database another process is writing (also exit 4).
    lock = ProjectLock(config.root, command="validate")
    try:
        lock.acquire()
    except ReadOnlyProjectError:
        pass
    try:
        report = validate_project(config, reporter=state.reporter)
    finally:
        lock.release()
    _say(report.render_text())
    if report.blocking:
        raise typer.Exit(int(ExitCode.INPUT_DATA))


@app.command()
def assess(
    *,
    project: ProjectOpt = None,
    period_end: Annotated[
        str | None, typer.Option(help="Last month of a rolling period, YYYY-MM.")
    ] = None,
    months: Annotated[int | None, typer.Option(help="Length of the rolling period.")] = None,
    place: Annotated[
        list[str] | None, typer.Option(help="Restrict to this Place (code or name); repeatable.")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Comma list of html,xlsx,csv,parquet.")
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="Output folder (default ./eolneeds-output).")
    ] = None,
    per_place: Annotated[
        bool | None,
        typer.Option("--per-place/--no-per-place", help="One Excel pack per Place as well."),
    ] = None,
) -> None:
    """Compute every indicator per Place and write the report, Excel pack and tables.

    Example: eolneeds assess --project ~/eol-2026 --format html,xlsx --out reports
    """
    from eolneeds.assess import AssessOptions, assess_command

    formats = [f.strip() for f in format.split(",") if f.strip()] if format else None
    if out is not None and not out.strip():
        # An unset variable in a script (--out "$DIR"): not the current folder.
        raise UsageError(f"--out {out!r} is empty — name a folder for the outputs, e.g. "
                         "--out reports")
    options = AssessOptions(
        period_end=period_end,
        months=months,
        places=list(place or []),
        formats=formats,
        out=Path(out) if out is not None else None,
        per_place=per_place,
    )
    root = find_project(project)
    # The bundled sample (no project) is assessed in a private temporary folder: no lock.
    guard = project_lock(root, command="assess") if root is not None else nullcontext()
    with guard:
        result = assess_command(project, options, reporter=state.reporter)
    typer.echo(result.render_summary())


@app.command()
def run(
    *,
    month: Annotated[str, typer.Option(help="The month to report, YYYY-MM.")],
    project: ProjectOpt = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for another run's lock (default: none).")
    ] = 0.0,
) -> None:
    """The scheduled job: ingest inbox/, assess, write output/YYYY-MM/, archive inputs.

    Example: eolneeds --log-format json run --month 2026-10 --project /data/eol
    """
    from eolneeds.project import require_project
    from eolneeds.run import run_month

    config = require_project(project)
    result = run_month(config, month, wait=wait, reporter=state.reporter)
    typer.echo(result.render_summary())


@app.command()
def indicators(
    *,
    format: Annotated[
        str, typer.Option("--format", help="table (default), markdown or json.")
    ] = "table",
) -> None:
    """Print the indicator catalogue.

    Example: eolneeds indicators --format markdown > INDICATORS.md
    """
    from eolneeds.catalogue import render_catalogue

    if format not in ("table", "markdown", "json"):
        raise UsageError(f"--format {format!r}: use table, markdown or json")
    typer.echo(render_catalogue(format))


def _say(text: str) -> None:
    """Print a result to stdout. A file or column named with an NHS number is masked in
    it, as in every message (README, Privacy)."""
    typer.echo(visible(mask_identifiers(text)))


# eolneeds' own options (main_options): before the command, never after it.
_GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose", "--debug")


def misplaced_global_option(argv: list[str]) -> str | None:
    """The error for a global option written after the command (`eolneeds ingest -q
    ...`, which Typer answers with only 'No such option'), naming the command line that
    works; None when there is none."""
    command = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return None
        if command is None:
            if arg == "--log-format":
                i += 1  # its value
            elif not arg.startswith("-"):
                command = i
        elif arg in _GLOBAL_FLAGS or arg == "--log-format" or arg.startswith("--log-format="):
            moved = [arg] + ([argv[i + 1]] if arg == "--log-format" and i + 1 < len(argv)
                             else [])
            rest = argv[:i] + argv[i + len(moved):]
            fixed = rest[:command] + moved + rest[command:]
            return (f"{arg} is an option of eolneeds itself, not of `{argv[command]}`: put "
                    f"it before the command — eolneeds {shlex.join(fixed)}")
        i += 1
    return None


def main() -> None:
    """Entry point: run the app, turn our errors into one line and an exit code.

    Typer's standalone mode handles bad usage itself (exit 2) and SystemExit passes
    through; everything else is ours to translate.
    """
    misplaced = misplaced_global_option(sys.argv[1:])
    if misplaced is not None:
        sys.stderr.write(f"Error: {visible(mask_identifiers(misplaced), one_line=True)}\n")
        sys.exit(int(ExitCode.USAGE))
    try:
        app()
    except SystemExit as ended:
        if ended.code == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C into this, silently
            sys.stderr.write(INTERRUPTED_MESSAGE + "\n")
        raise
    except KeyboardInterrupt:  # Ctrl-C outside Typer's own handling
        sys.stderr.write(INTERRUPTED_MESSAGE + "\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except EolneedsError as err:
        if state.debug:
            traceback.print_exc()
        sys.stderr.write(f"Error: {visible(mask_identifiers(str(err)), one_line=True)}\n")
        sys.exit(int(err.exit_code))
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if state.debug:
            traceback.print_exc()
        if type(exc).__module__.startswith(("duckdb", "_duckdb")) or isinstance(exc, OSError):
            from eolneeds.db import explain

            known = explain(exc)
            if isinstance(known, EolneedsError):
                sys.stderr.write(f"Error: {visible(mask_identifiers(str(known)), one_line=True)}\n")
                sys.exit(int(known.exit_code))
        sys.stderr.write(
            f"Internal error: {type(exc).__name__}: "
            f"{visible(mask_identifiers(str(exc)), one_line=True)} — this is a "
            "bug in eolneeds; "
            "rerun with --debug for the traceback and report it\n"
        )
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":  # pragma: no cover
    main()
