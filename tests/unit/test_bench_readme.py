"""`make bench` writes the README's performance table from its own results (bench/readme.py): the figures a reader
sees are the last full run's, with its date and machine."""

from __future__ import annotations

import pytest

from bench.readme import BEGIN, END, table, write_readme

RESULTS = {
    "measured_at": "2030-01-02T03:04:05+00:00",
    "run": {"minutes": 11.5, "machine": {"cpu": "Test CPU", "cpus": 2, "commit": "abc1234", "python": "3.11.7"}},
    "booking_overhead": {
        "bookings": 100,
        "service_median_ms": 12.0,
        "bare_transact_write_median_ms": 10.0,
        "ratio_service_to_bare": 1.2,
    },
    "console_day": {"error": "RuntimeError: DynamoDB Local did not start in time"},
    "dynamodb_calls_per_operation": {"book": {"GetItem": 2, "TransactWriteItems": 1}, "scans_in_all_of_the_above": 0},
}


def test_the_table_carries_the_runs_figures_date_machine_and_failures():
    # WHEN the table is written from a run's results
    written = table(RESULTS)
    # THEN it names the run and its machine, shows each figure, and a benchmark that failed as failed
    assert written.startswith(BEGIN) and written.endswith(END)
    assert "2030-01-02T03:04:05+00:00" in written and "Test CPU" in written and "abc1234" in written
    assert "12.0 ms vs 10.0 ms median, ratio **1.2**" in written
    assert "2 `GetItem` + 1 `TransactWriteItems`" in written
    assert "failed in this run: RuntimeError: DynamoDB Local did not start in time" in written


def test_only_the_text_between_the_markers_is_replaced(tmp_path):
    # GIVEN a README with an old table between the markers
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n## Performance\n\nintro\n\n{BEGIN}\n| old | 1 | 2 |\n{END}\n\nnotes\n")
    # WHEN a run writes its table
    write_readme(RESULTS, readme)
    # THEN the old figures are gone and everything around the markers stays
    text = readme.read_text()
    assert "| old |" not in text and "ratio **1.2**" in text
    assert text.startswith("# Title\n\n## Performance\n\nintro\n\n") and text.endswith(f"{END}\n\nnotes\n")


def test_a_readme_without_the_markers_is_refused_not_appended_to(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    with pytest.raises(SystemExit, match="markers"):
        write_readme(RESULTS, readme)
    assert readme.read_text() == "# Title\n"
