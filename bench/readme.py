"""Writes the README's performance table from a run's results (bench/results/latest.json), between the markers
`<!-- bench:begin -->` and `<!-- bench:end -->`, with the run's date, machine and commit: the figures a reader
sees are those of the last full `make bench`. `python -m bench.readme` rewrites it from latest.json again."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LATEST = ROOT / "bench" / "results" / "latest.json"
BEGIN = "<!-- bench:begin: written by `make bench` (bench/readme.py) from bench/results/latest.json -->"
END = "<!-- bench:end -->"

Row = tuple[str, str, str]


def machine() -> dict[str, Any]:
    """What the run ran on: CPU, cores, OS, Python, DynamoDB Local's release, and the commit measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from infra.local.dynamodb_local import jar_dir

    try:
        dynamodb_local = jar_dir().name.removeprefix("dynamodb_local_")
    except RuntimeError:
        dynamodb_local = "not installed"
    git = shutil.which("git")
    described = (
        subprocess.run(
            [git, "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        if git
        else ""
    )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "dynamodb_local": dynamodb_local,
        "commit": described or os.environ.get("BENCH_COMMIT", "unknown"),  # an exported tree has no .git
        "load_average_at_start": round(os.getloadavg()[0], 1),
    }


def calls(counted: dict[str, int] | None) -> str:
    """`{"GetItem": 2, "TransactWriteItems": 1}` as "2 `GetItem` + 1 `TransactWriteItems`"."""
    if not counted:
        return "none"
    shown = {name.removeprefix("dynamodb:"): n for name, n in counted.items()}  # other services keep theirs
    return " + ".join(f"{n} `{name}`" for name, n in sorted(shown.items()))


def failed(result: Any) -> str | None:
    if isinstance(result, dict) and "error" in result:
        return f"failed in this run: {result['error']}"
    return None


def _calls_rows(r: dict[str, Any]) -> list[Row]:
    names = (
        ("book", "book (staff, for a patient of the directory)", "one write, at most two reads"),
        ("hold", "hold a time", "a hold costs one transaction"),
        ("book_hold", "book a hold", ""),
        ("release_hold", "release a hold", ""),
        ("availability", "availability of a doctor-day", "at most two calls"),
        ("get", "read one appointment", ""),
        ("reschedule", "reschedule", ""),
        ("cancel", "cancel", ""),
        ("list_for_doctor", "a doctor's list", ""),
        ("search_doctors", "search the directory", ""),
    )
    rows = [(f"DynamoDB calls: {label}", calls(r.get(key)), goal) for key, label, goal in names if key in r]
    rows.append(("`Scan` calls in all of the above", str(r.get("scans_in_all_of_the_above")), "none"))
    return rows


def _availability(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"availability with {r['other_appointments']:,} other appointments vs an empty table",
            f"{r['full_median_ms']} ms vs {r['empty_median_ms']} ms median, ratio **{r['ratio_full_to_empty']}**",
            "≤ 1.3",
        )
    ]


def _booking(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"booking through the service vs a bare pynamodb `TransactWrite` of the same items ({r['bookings']} each)",
            f"{r['service_median_ms']} ms vs {r['bare_transact_write_median_ms']} ms median, "
            f"ratio **{r['ratio_service_to_bare']}**",
            "≤ 1.5",
        )
    ]


def _cold_start(r: dict[str, Any]) -> list[Row]:
    how = f"in-process `perf_counter`, fresh interpreter per sample, interleaved, median of {r['runs']}"
    return [
        (
            f"cold start: `import app` vs `import boto3` ({how})",
            f"{r['import_app_median_ms']} ms vs {r['import_boto3_median_ms']} ms, ratio **{r['ratio_app_to_boto3']}**",
            "≤ 1.3",
        ),
        (
            "the first request's extra cost: `import app` and `container.build()` (settings read; each service and "
            "adapter made when a request first needs it) vs `import boto3`",
            f"{r['import_app_and_build_adapters_median_ms']} ms, ratio **{r['ratio_first_request_to_boto3']}**",
            "≤ 2",
        ),
        *(
            [
                (
                    "a first booking's cost before its DynamoDB calls: `import app`, `container.build()`, the "
                    "booking's services and adapters (pynamodb, botocore) and its models (pydantic) vs `import boto3`",
                    f"{r['import_app_and_wire_a_booking_median_ms']} ms, ratio **{r['ratio_first_booking_to_boto3']}**",
                    "reported",
                )
            ]
            if "ratio_first_booking_to_boto3" in r
            else []
        ),
        (
            "`import app` inside Lambda with active tracing (X-Ray SDK loaded, botocore patched)",
            f"{r['import_app_with_xray_tracing_median_ms']} ms",
            "reported",
        ),
    ]


def _package(r: dict[str, Any]) -> list[Row]:
    largest = ", ".join(f"{name} {v['zipped_mb']}" for name, v in r["largest"].items())
    return [
        (
            "Lambda package (`chalice package` + the release step; one code zip all functions share)",
            f"{r['zip_file_mb']} MB zipped, {r['unzipped_mb']} MB unzipped; botocore in it: "
            f"{'yes' if r['botocore_in_package'] else 'no (the runtime provides it, with boto3)'}; "
            f"largest (MB zipped): {largest}",
            "reported",
        ),
        (
            "cold start as Lambda runs the package (unpacked, `python -S`, runtime's boto3/botocore after it, "
            f"no bytecode written; median of {r['runs']})",
            f"`import app` {r['from_package_import_app_median_ms']} ms with the shipped bytecode, "
            f"{r['from_package_import_app_without_bytecode_median_ms']} ms without (as before); and wiring a "
            f"booking: {r['from_package_import_app_and_build_adapters_median_ms']} ms vs "
            f"{r['from_package_import_app_and_build_adapters_without_bytecode_median_ms']} ms",
            "reported",
        ),
    ]


def _memory(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"peak RSS of a process that served {r['requests']:,} requests (chalice test client)",
            f"{r['peak_rss_mib']} MiB",
            "reported",
        )
    ]


def _transactions(r: dict[str, Any]) -> list[Row]:
    tx, put = r["transact_write_items"], r["put_item"]

    def line(runs: dict[str, Any]) -> str:
        return ", ".join(
            f"{t} thread{'s' if t > 1 else ''}: {runs[f'{t}_threads']['calls_per_s']}/s, "
            f"{runs[f'{t}_threads']['median_latency_ms']} ms, server {runs[f'{t}_threads']['server_cores_busy']} cores"
            for t in (1, 4, 16)
        )

    return [
        (
            f"DynamoDB Local itself: {r['calls']} `TransactWriteItems` on disjoint items ({r['transaction']}) from "
            "1, 4 and 16 threads, and as many `PutItem`s",
            f"transactions: {line(tx)} (speed-up {tx['speedup_4_threads']} and {tx['speedup_16_threads']}); "
            f"puts: {line(put)}",
            "explains the sweep",
        )
    ]


def _reminders(r: dict[str, Any]) -> list[Row]:
    single, sweep = r["single_dispatch"], r["sweep"]
    return [
        (
            "calls of a lone reminder dispatch",
            f"{calls(single['calls'])} ({single['outcome']}), {single['median_ms']} ms median",
            "1 claim + 1 read + 1 send + 1 final write",
        ),
        (
            f"sweep over {sweep['due_reminders']:,} due reminders on fresh tables, DynamoDB Local as it is",
            f"{sweep['seconds']} s ({sweep['ms_per_reminder']} ms per reminder); time ratio to one dispatch × N "
            f"**{sweep['ratio_to_single_dispatch_times_n']}**, calls ratio {sweep['calls_ratio_to_single_times_n']}; "
            f"{calls(sweep['calls'])}",
            "≤ 0.2",
        ),
    ]


def _reminders_latency(r: dict[str, Any]) -> list[Row]:
    sweep = r["sweep"]
    return [
        (
            f"the sweep's concurrency: {sweep['due_reminders']:,} due, every DynamoDB call and send delayed "
            f"{r['injected_latency_ms']} ms on the client (a stand-in for AWS's round trips, which DynamoDB Local "
            "lacks), 16 at a time",
            f"{sweep['seconds']} s vs one dispatch {r['single_dispatch']['median_ms']} ms × N: time ratio "
            f"**{sweep['ratio_to_single_dispatch_times_n']}**",
            "≤ 0.2",
        )
    ]


def _fanout(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"fan-out of one change to {r['subscribers']:,} WebSocket followers "
            f"(posts modelled at {r['modelled_post_latency_ms']} ms each)",
            f"{r['fan_out']['seconds']} s; calls **{r['calls_ratio_to_one_subscriber_times_n']}** of 1 follower × N "
            f"({calls(r['fan_out']['calls'])}); time ratio **{r['time_ratio_to_one_subscriber_times_n']}**",
            "reported",
        )
    ]


def _room(r: dict[str, Any]) -> list[Row]:
    return [
        (
            "room endpoint (`GET /api/telehealth/room/{id}` of an admitted patient)",
            f"{calls(r['calls_per_room_request'])}; {r['room_median_ms']} ms median, "
            f"**{r['ratio_room_to_health']}×** `GET /health` ({r['health_median_ms']} ms)",
            "reported",
        )
    ]


def _console(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"console: the server work behind a day of {r['doctors']} doctors × 20 appointments "
            f"({r['appointments_shown']} shown; one list request per doctor)",
            f"{calls(r['calls'])}; {r['server_median_ms']} ms in all (chalice test client, DynamoDB Local)",
            "access log: one or two writes per request",
        )
    ]


def _analytics(r: dict[str, Any]) -> list[Row]:
    small, large = r["small"], r["large"]
    return [
        (
            f"analytics, 30 days × 10 doctors, {large['appointments']:,} vs {small['appointments']:,} appointments",
            f"{calls(large['calls'])} vs {calls(small['calls'])}; {large['report_median_ms']} ms vs "
            f"{small['report_median_ms']} ms, ratio **{r['ratio_large_to_small']}**",
            "reported",
        )
    ]


def _fhir(r: dict[str, Any]) -> list[Row]:
    return [
        (
            "FHIR Slot search over 7 days of one schedule vs 7 REST availability reads (chalice test client)",
            f"{calls(r['fhir_slot_search_7_days_calls'])} vs {calls(r['rest_7_availability_reads_calls'])}, calls "
            f"ratio **{r['calls_fhir_to_rest']}**; {r['fhir_slot_search_7_days_median_ms']} ms vs "
            f"{r['rest_7_availability_reads_median_ms']} ms, time ratio **{r['ratio_fhir_to_rest_time']}**; "
            f"`$find` over one day: {calls(r['fhir_find_1_day_1_doctor_calls'])}, "
            f"{r['fhir_find_1_day_1_doctor_median_ms']} ms",
            "calls ≤ 7 availability reads",
        ),
        (
            "FHIR writes vs the REST writes they wrap",
            f"`$book` of a proposed time: {calls(r['fhir_book_proposed_calls'])} vs "
            f"{calls(r['rest_booking_calls'])} (**{r['fhir_book_reads_added']}** read added), "
            f"{r['fhir_book_proposed_median_ms']} ms vs {r['rest_booking_median_ms']} ms; `$book` of a hold: "
            f"**{r['fhir_book_of_a_hold_reads_added']}** reads added; `$hold`: {calls(r['fhir_hold_calls'])}",
            "`$book` adds ≤ 1 read; a hold is 1 transaction",
        ),
        (
            f"SMART Scheduling Links publication ({r['bulk_publish_files']} files, "
            f"{r['bulk_publish_slots_published']:,} slots)",
            f"rebuilt: {calls(r['bulk_publish_rebuilt_manifest_and_files_calls'])}, "
            f"{r['bulk_publish_rebuilt_median_ms']} ms; unchanged: "
            f"{calls(r['bulk_publish_unchanged_manifest_and_files_calls'])}, "
            f"{r['bulk_publish_unchanged_median_ms']} ms; 304: {calls(r['bulk_publish_304_calls'])}, "
            f"{r['bulk_publish_304_median_ms']} ms",
            "an unchanged request reads no availability",
        ),
    ]


def _webhooks(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"webhooks: {r['bookings']:,} bookings at {r.get('booking_rate_cap_per_s', 'full')}/s, "
            f"{r['subscribers']} subscribers on loopback, {r['down_subscribers']} down; one in-process sender",
            f"{r['delivered_to_healthy']:,} of {r['expected_to_healthy']:,} delivered to the healthy ones "
            f"(signatures verified: {r['all_signatures_verified']}); lag p50 {r['healthy_lag_p50_s']} s, "
            f"p95 {r['healthy_lag_p95_s']} s, max {r['healthy_lag_max_s']} s; the down one got "
            f"{r['attempts_at_the_down_subscriber']} attempt(s); per event {r['dynamodb_calls_per_event']} "
            f"DynamoDB calls, {r['http_posts_per_event']} posts",
            f"healthy lag ≤ {r['lag_bound_s']} s",
        )
    ]


def _waitlist(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"waitlist: {r['waiting']} waiting, {r['cancelled']} visits cancelled at once",
            f"{r['offered']} offered; first offer {r['first_offer_s']} s, median {r['refill_median_s']} s, "
            f"max {r['refill_max_s']} s; {r['dynamodb_calls_per_offer']} DynamoDB calls per offer",
            f"first offer ≤ {r['goal_first_offer_s']} s",
        )
    ]


ROWS: dict[str, tuple[str, Callable[[dict[str, Any]], list[Row]]]] = {
    "dynamodb_calls_per_operation": ("DynamoDB calls", _calls_rows),
    "booking_overhead": ("booking overhead", _booking),
    "availability_latency": ("availability", _availability),
    "cold_start": ("cold start", _cold_start),
    "package": ("Lambda package", _package),
    "peak_memory_1000_requests": ("memory", _memory),
    "dynamodb_local_transactions": ("DynamoDB Local's concurrency", _transactions),
    "reminder_delivery": ("reminders", _reminders),
    "reminder_sweep_with_latency": ("the sweep's concurrency", _reminders_latency),
    "realtime_fanout": ("fan-out", _fanout),
    "telehealth_room": ("room", _room),
    "console_day": ("console day", _console),
    "analytics_30_days": ("analytics", _analytics),
    "fhir_slot_search": ("FHIR", _fhir),
    "webhook_delivery": ("webhooks", _webhooks),
    "waitlist_refill": ("waitlist", _waitlist),
}


def table(results: dict[str, Any]) -> str:
    run = results.get("run", {})
    where = run.get("machine", {})
    lines = [
        BEGIN,
        f"Last run: {results.get('measured_at', '?')}, {run.get('minutes', '?')} minutes, on {where.get('cpu', '?')} "
        f"({where.get('cpus', '?')} CPUs shared with other work; load average {where.get('load_average_at_start', '?')}"
        f" at the start), {where.get('os', '?')}, Python {where.get('python', '?')}, DynamoDB Local "
        f"{where.get('dynamodb_local', '?')} in memory; commit {where.get('commit', '?')}. Every benchmark ran on "
        "a DynamoDB Local of its own (fresh tables, a fresh JVM).",
        "",
        "| what | figure | goal |",
        "| --- | --- | --- |",
    ]
    for key, (title, rows) in ROWS.items():
        if key not in results:
            continue
        result = results[key]
        problem = failed(result)
        try:
            made = [(title, problem, "")] if problem else rows(result)
        except (KeyError, TypeError, ValueError) as exc:
            made = [(title, f"not shown: the result lacks {exc}", "")]
        lines.extend(f"| {what} | {figure} | {goal} |" for what, figure, goal in made)
    lines.append(END)
    return "\n".join(lines)


def write_readme(results: dict[str, Any], readme: Path = README) -> None:
    """Replaces what is between the markers (the markers must be there, once each)."""
    text = readme.read_text()
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin or text.count(BEGIN) != 1:
        raise SystemExit(f"{readme}: the bench markers are missing; add them where the table belongs")
    readme.write_text(text[:begin] + table(results) + text[end + len(END) :])


if __name__ == "__main__":
    write_readme(json.loads(LATEST.read_text()))
    print(f"{README}: the performance table rewritten from {LATEST}", file=sys.stderr)
