"""Reading upstream's godog suite from outside: its scenarios from the feature
files, their outcomes from the pretty output (format as godog v0.16 prints it)."""

from __future__ import annotations

from tests.e2e.godog_results import parse_feature, results, runs_in

FEATURE = """@Top
Feature: Things
  Background: setup
    Given I create a namespace

  @Plain
  Scenario: A plain one
    When I do it
    Then it works

  @Outline
  Scenario Outline: Per kind
    Given I have a <kind>
    Then it is <state>

    Examples:
      | kind | state |
      | RSA  | fine  |
      | EC   | fine  |

    @More
    Examples:
      | kind | state |
      | RSA  | other |

  @Twin
  Scenario Outline: Same rows elsewhere
    Given I have a <kind>

    Examples:
      | kind | state |
      | RSA  | fine  |
"""

G, R, C, W, D, X = "\x1b[32m", "\x1b[31m", "\x1b[36m", "\x1b[1;37m", "\x1b[1;30m", "\x1b[0m"


def _row(color: str, *cells: str) -> str:
    return "      | " + " | ".join(f"{color}{c}{X}" for c in cells) + " |"


def _output(failed_twin: bool, *, summary: str | None = None) -> str:
    twin_color = R if failed_twin else G
    lines = [
        f"{W}Feature:{X} Things",
        "",
        f"  {W}Scenario:{X} A plain one {D}# features/things.feature:7{X}",
        f"    {G}When{X} {G}I do it{X} {D}# steps.go:1{X}",
        f"  {W}Scenario Outline:{X} Per kind {D}# features/things.feature:12{X}",
        f"    {C}Given{X} {C}I have a <kind>{X} {D}# steps.go:2{X}",
        "",
        f"    {W}Examples:{X}",
        _row(C, "kind", "state"),
        _row(G, "RSA", "fine"),
        _row(G, "EC", "fine"),
        _row(G, "RSA", "other"),
        f"  {W}Scenario Outline:{X} Same rows elsewhere {D}# features/things.feature:27{X}",
        "",
        f"    {W}Examples:{X}",
        _row(C, "kind", "state"),
        _row(twin_color, "RSA", "fine"),
    ]
    if failed_twin:
        lines += [
            "        \x1b[1;31mCertificate did not reach specified state\x1b[0m",
            "",
            f"--- {R}Failed steps:{X}",
            "",
            f"  {R}Scenario Outline: Same rows elsewhere{X}{D} # features/things.feature:27{X}",
            f"    {R}Given I have a RSA{X}{D} # features/things.feature:28{X}",
            f"      {R}Error: {X}\x1b[1;31mCertificate did not reach specified state{X}",
            "",
        ]
    lines += [
        "",
        summary
        or (
            f"5 scenarios ({G}4 passed{X}, {R}1 failed{X})"
            if failed_twin
            else f"5 scenarios ({G}5 passed{X})"
        ),
        "9 steps",
        "1.2s",
    ]
    return "\n".join(lines) + "\n"


def test_pickles_carry_feature_scenario_and_examples_tags() -> None:
    pickles = parse_feature("things.feature", FEATURE)
    assert [(p.line, p.scenario_line, p.row) for p in pickles] == [
        (7, 7, ()),
        (18, 12, ("RSA", "fine")),
        (19, 12, ("EC", "fine")),
        (24, 12, ("RSA", "other")),
        (32, 27, ("RSA", "fine")),
    ]
    assert pickles[0].tags == {"@Top", "@Plain"}
    assert pickles[3].tags == {"@Top", "@Outline", "@More"}
    assert pickles[4].tags == {"@Top", "@Twin"}
    assert [p.line for p in pickles if runs_in(p, {"@More", "@Plain"})] == [18, 19, 32]
    assert pickles[3].test_id == "things:24[RSA,other]"


def test_all_green() -> None:
    pickles = parse_feature("things.feature", FEATURE)
    report = results(pickles, _output(False))
    assert not report.problem
    assert all(o.passed for o in report.outcomes.values())


def test_a_failed_row_is_pinned_to_its_outline_even_when_another_has_the_same_row() -> None:
    pickles = parse_feature("things.feature", FEATURE)
    report = results(pickles, _output(True))
    assert not report.problem
    failed = [p.line for p, o in report.outcomes.items() if not o.passed]
    assert failed == [32]
    assert "Certificate did not reach" in report.outcomes[pickles[4]].detail


def test_no_summary_or_a_summary_that_disagrees_fails_everything() -> None:
    pickles = parse_feature("things.feature", FEATURE)
    crashed = results(pickles, "panic: no CA\n")
    assert crashed.problem
    assert not any(o.passed for o in crashed.outcomes.values())
    disagree = results(pickles, _output(False, summary="5 scenarios (4 passed, 1 undefined)"))
    assert "godog reported 4 of 5" in disagree.problem
    assert not any(o.passed for o in disagree.outcomes.values())
