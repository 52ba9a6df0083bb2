"""Upstream's godog suite seen from outside: its scenarios, and their results read
from the output of its test binary (pure functions, no I/O).

The suite's binary fixes its own godog options (format ``pretty``,
concurrency 8, path ``features``, tags from environment variables), so the
runner cannot ask for a machine-readable report. What it can do:

- enumerate the scenarios itself, from the ``.feature`` files: one `Pickle`
  per Scenario and per Examples row of a Scenario Outline, with its tags
  (feature + scenario + examples) and its line;
- read the pretty output: an Examples row is printed once its scenario has
  finished, green when every step passed, red otherwise (with the error under
  it); the "Failed steps" section names the scenario (by line) of every
  failed step; the summary line counts passed and total scenarios.

`results` combines them conservatively: a scenario passes only if its
outline/scenario has no failed step, or its row was printed green as many
times as scenarios share that row. The derived totals must equal godog's own
summary, or every scenario of the run is reported failed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_GREEN = "\x1b[32m"
_SUMMARY = re.compile(r"^(\d+) scenarios? \((.*)\)$")
_LOCATION = re.compile(r"#\s*(features/[\w./-]+\.feature):(\d+)\s*$")
_ERROR_LINES = 20


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass(frozen=True)
class Pickle:
    """One scenario as godog runs it."""

    feature: str  # file name, e.g. cluster_issuer.feature
    line: int  # the Scenario line, or the Examples row line of an outline
    scenario_line: int  # the Scenario / Scenario Outline line
    name: str
    tags: frozenset[str]
    row: tuple[str, ...] = ()  # the Examples row's cells (empty for a plain Scenario)

    @property
    def test_id(self) -> str:
        where = f"{self.feature.removesuffix('.feature')}:{self.line}"
        return f"{where}[{','.join(self.row)}]" if self.row else where


def _cells(line: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in line.strip().strip("|").split("|"))


def parse_feature(name: str, text: str) -> list[Pickle]:
    """The pickles of one feature file (the subset of Gherkin the suite uses)."""
    feature_tags: set[str] = set()
    pending_tags: set[str] = set()
    scenario: tuple[int, str, frozenset[str], bool] | None = None
    examples_tags: frozenset[str] = frozenset()
    header_seen = False
    out: list[Pickle] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            pending_tags |= {t for t in line.split() if t.startswith("@")}
            continue
        keyword, _, rest = line.partition(":")
        if keyword == "Feature":
            feature_tags, pending_tags = pending_tags, set()
        elif keyword in ("Scenario", "Scenario Outline", "Scenario Template"):
            tags = frozenset(feature_tags | pending_tags)
            pending_tags = set()
            scenario = (no, rest.strip(), tags, keyword != "Scenario")
            if keyword == "Scenario":
                out.append(Pickle(name, no, no, rest.strip(), tags))
        elif keyword in ("Examples", "Scenarios"):
            examples_tags, pending_tags, header_seen = frozenset(pending_tags), set(), False
        elif keyword == "Background":
            pending_tags = set()
        elif line.startswith("|") and scenario is not None and scenario[3]:
            if not header_seen:
                header_seen = True
                continue
            s_line, s_name, s_tags, _ = scenario
            out.append(
                Pickle(name, no, s_line, s_name, frozenset(s_tags | examples_tags), _cells(line))
            )
    return out


def runs_in(pickle: Pickle, excluded_tags: Iterable[str]) -> bool:
    """godog's ``~@A&&~@B`` expression: the pickle carries none of the excluded tags."""
    return not (pickle.tags & set(excluded_tags))


@dataclass
class Outcome:
    passed: bool
    detail: str = ""


@dataclass
class RunReport:
    """What one run of the binary said about the pickles it ran."""

    outcomes: dict[Pickle, Outcome] = field(default_factory=dict)
    problem: str = ""  # set when the output could not be trusted


def _failed_steps(lines: list[str]) -> dict[int, list[str]]:
    """Scenario line -> the failed-step blocks godog printed for it."""
    out: dict[int, list[str]] = {}
    try:
        start = next(i for i, x in enumerate(lines) if strip_ansi(x).strip() == "--- Failed steps:")
    except StopIteration:
        return out
    current: int | None = None
    for raw in lines[start + 1 :]:
        plain = strip_ansi(raw).rstrip()
        if _SUMMARY.match(plain.strip()):
            break
        m = _LOCATION.search(plain)
        if m and plain.lstrip().startswith(("Scenario", "Scenario Outline")):
            current = int(m.group(2))
            out.setdefault(current, []).append(plain.strip())
        elif current is not None and plain.strip():
            out[current].append(plain.strip())
    return out


def _rows(lines: list[str]) -> tuple[Counter[tuple[str, ...]], dict[tuple[str, ...], list[str]]]:
    """Green rows counted by cells; the error lines printed under non-green rows."""
    green: Counter[tuple[str, ...]] = Counter()
    errors: dict[tuple[str, ...], list[str]] = {}
    for i, raw in enumerate(lines):
        plain = strip_ansi(raw).strip()
        if not (plain.startswith("|") and plain.endswith("|")):
            continue
        cells = _cells(plain)
        first = raw[raw.index("|") + 1 :].lstrip()
        if first.startswith(_GREEN):
            green[cells] += 1
            continue
        message = []  # the error godog prints under a failed row, up to the next row
        for after in lines[i + 1 : i + 1 + _ERROR_LINES]:
            text = strip_ansi(after).strip()
            if text.startswith("|") or _LOCATION.search(text):
                break
            if text:
                message.append(text)
        if message:
            errors.setdefault(cells, []).append("\n".join(message))
    return green, errors


def _summary(lines: list[str]) -> tuple[int, int] | None:
    for raw in reversed(lines):
        m = _SUMMARY.match(strip_ansi(raw).strip())
        if m:
            passed = re.search(r"(\d+) passed", m.group(2))
            return int(m.group(1)), int(passed.group(1)) if passed else 0
    return None


def results(pickles: list[Pickle], stdout: str) -> RunReport:
    """Each pickle's outcome from the pretty output of a run that ran exactly `pickles`."""
    lines = stdout.splitlines()
    report = RunReport()
    summary = _summary(lines)
    if summary is None:
        report.problem = "godog printed no summary (the binary failed before or while running)"
        for p in pickles:
            report.outcomes[p] = Outcome(False, report.problem)
        return report
    failed = _failed_steps(lines)
    green, row_errors = _rows(lines)
    sharing = Counter((p.feature, p.row) for p in pickles if p.row)
    for p in pickles:
        blocks = failed.get(p.scenario_line, [])
        if not p.row:
            report.outcomes[p] = Outcome(not blocks, "\n".join(blocks))
            continue
        shared = sharing[(p.feature, p.row)]
        ok = green[p.row] >= shared or not blocks
        # The error under the row is this scenario's only if no other outline has that row.
        mine = row_errors.get(p.row, []) if shared == 1 else []
        report.outcomes[p] = Outcome(ok, "" if ok else "\n".join([*mine, *blocks]))
    total, passed = summary
    derived = sum(o.passed for o in report.outcomes.values())
    if (total, passed) != (len(pickles), derived):
        report.problem = (
            f"godog reported {passed} of {total} scenarios passed; the runner expected "
            f"{len(pickles)} scenarios and read {derived} passes from the output"
        )
        for p in pickles:
            o = report.outcomes[p]
            report.outcomes[p] = Outcome(False, f"{report.problem}\n{o.detail}".strip())
    return report
