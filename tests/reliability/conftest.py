"""The reliability suite's figures: every test counts what it did through the `figures` fixture, and
the run ends with one line

    reliability: N faults injected, N bad inputs tried, N reports lost (goal 0), N raw personal values found in outputs (goal 0)

A test that loses a report or finds a personal value also fails; the line makes the totals visible."""
from __future__ import annotations

import pytest

FIGURES = {"faults": 0, "bad_inputs": 0, "reports_lost": 0, "personal_found": 0}
_RAN = []


class Figures:
    def fault(self, n: int = 1) -> None:
        FIGURES["faults"] += n

    def bad_input(self, n: int = 1) -> None:
        FIGURES["bad_inputs"] += n

    def reports_lost(self, n: int) -> None:
        FIGURES["reports_lost"] += n

    def personal_found(self, n: int) -> None:
        FIGURES["personal_found"] += n


@pytest.fixture
def figures() -> Figures:
    _RAN.append(1)
    return Figures()


def figures_line() -> str:
    f = FIGURES
    return (f"reliability: {f['faults']} faults injected, {f['bad_inputs']} bad inputs tried, "
            f"{f['reports_lost']} reports lost (goal 0), {f['personal_found']} raw personal values found in outputs (goal 0)")


def pytest_terminal_summary(terminalreporter):
    if _RAN:
        terminalreporter.write_sep("-", "reliability figures")
        terminalreporter.write_line(figures_line())
