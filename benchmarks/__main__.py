"""python -m benchmarks [--sizes 10,100,1000] [--sources 1,10,50,100] [--repeat 3]

Runs the validator, program-scaling and package benchmarks, prints the tables and writes
them to benchmarks/RESULTS.md. Ratios are against baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import textwrap
from pathlib import Path

from benchmarks import packages_bench, program_bench, validator_bench

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
MB = 1024 * 1024


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    mem = next(
        (int(line.split()[1]) // 1024 // 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0
    )
    import pyarrow

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM; Linux {platform.release()}; "
        f"Python {platform.python_version()}, pyarrow {pyarrow.__version__}"
    )


def verdict(ok: bool) -> str:
    return "✅ met" if ok else "❌ missed"


def validator_section(result: dict) -> tuple[list[str], list[tuple[str, str, bool]]]:
    lines, targets = [], []
    sizes = sorted(result["sizes"])
    for size in sizes:
        cases = result["sizes"][size]
        footer, decode, decode_scan = cases["footer"], cases["decode"], cases["decode (scan file)"]
        file_mb = cases["validator pass"]["size"] / MB
        lines += [
            f"#### {file_mb:,.0f} MB file ({cases['validator pass']['rows']:,} rows, row groups of 10,000)",
            "",
            "| case | wall | × footer floor | rows/s | × full decode | peak RSS | bytes read | of file | outcome |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, c in cases.items():
            base = decode_scan if "scan" in name else decode
            rows_per_s = c["rows"] / c["wall"] if c["wall"] else 0
            base_rate = base["rows"] / base["wall"]
            outcome = c.get("outcome", "") + (f" {','.join(c['codes'])}" if c.get("codes") else "")
            lines.append(
                f"| {name} | {c['wall']:.3f} s | {c['wall'] / footer['wall']:.1f} | {rows_per_s:,.0f} | "
                f"{rows_per_s / base_rate:.2f} | {c['peakRssMb']:.0f} MB | {c['bytesRead'] / MB:,.2f} MB | "
                f"{c['bytesRead'] / c['size']:.2%} | {outcome} |"
            )
        lines.append("")
        passing = cases["validator pass"]
        targets.append(
            (f"{file_mb:,.0f} MB pass: bytes read ≤ 1% of the file", f"{passing['bytesRead'] / passing['size']:.3%}",
             passing["bytesRead"] <= 0.01 * passing["size"])
        )  # fmt: skip
        targets.append(
            (f"{file_mb:,.0f} MB pass: time ≤ 2× the footer-only floor", f"{passing['wall'] / footer['wall']:.2f}×",
             passing["wall"] <= 2 * footer["wall"])
        )  # fmt: skip
        scan = cases["validator scan"]
        ratio = (scan["rows"] / scan["wall"]) / (decode_scan["rows"] / decode_scan["wall"])
        targets.append(
            (f"{file_mb:,.0f} MB scan: throughput ≥ 80% of pyarrow full decode", f"{ratio:.0%}", ratio >= 0.8)
        )
    largest = result["sizes"][sizes[-1]]
    smallest = result["sizes"][sizes[0]]
    worst_rss = max(largest[c]["peakRssMb"] for c in ("validator pass", "validator fail", "validator scan"))
    targets.append(("peak RSS of the validator on the largest file < 300 MB", f"{worst_rss:.0f} MB", worst_rss < 300))
    growth = worst_rss - max(smallest[c]["peakRssMb"] for c in ("validator pass", "validator fail", "validator scan"))
    targets.append(("validator memory independent of file size (largest − smallest)", f"{growth:+.0f} MB", growth < 64))
    pandas = largest["pandas"]
    for name in ("validator pass", "validator scan"):
        speed = pandas["wall"] / largest[name]["wall"]
        memory = pandas["peakRssMb"] / largest[name]["peakRssMb"]
        targets.append((f"largest file, {name}: ≥ 5× faster than pandas", f"{speed:.1f}×", speed >= 5))
        targets.append((f"largest file, {name}: ≥ 5× less memory than pandas", f"{memory:.1f}×", memory >= 5))
    return lines, targets


def program_section(results: list[dict]) -> tuple[list[str], list[tuple[str, str, bool]]]:
    lines = [
        "| sources | resources | seconds | ms per source | × per-source cost at 10 |",
        "|---:|---:|---:|---:|---:|",
    ]
    per = {r["sources"]: r["seconds"] / r["sources"] for r in results}
    ref = per.get(10) or next(iter(per.values()))
    for r in results:
        lines.append(
            f"| {r['sources']} | {r['resources']:,} | {r['seconds']:.2f} | {1000 * per[r['sources']]:.0f} | {per[r['sources']] / ref:.2f} |"
        )
    targets = []
    if 10 in per and 100 in per:
        targets.append(
            ("program: time per source at 100 ≤ 1.5× at 10", f"{per[100] / per[10]:.2f}×", per[100] <= 1.5 * per[10])
        )
    return lines + [""], targets


def packages_section(results: list[dict]) -> list[str]:
    lines = [
        "| function | archive (zip) | unzipped | + layer (estimate) | of the 250 MB limit | cold import |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['function']} | {r['zipBytes'] / 1024:,.0f} KB | {r['unzippedBytes'] / 1024:,.0f} KB | "
            f"{r['layerEstimateBytes'] / MB:,.0f} MB | {r['shareOfLimit']:.1%} | {1000 * r['coldImportSeconds']:.0f} ms |"
        )
    return lines + [
        "",
        "The validator's pyarrow comes from the AWS SDK for pandas Lambda layer; its size here is "
        "that of the pyarrow installed locally, the layer's largest part.",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--sizes", default="10,100,1000", help="validator file sizes in MB")
    parser.add_argument("--sources", default="1,10,50,100", help="source counts for the program scaling run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per validator case (median; 1 for files ≥ 1 GB)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(s) for s in args.sources.split(",")]
    print(f"validator: sizes {sizes} MB …", flush=True)
    validator = validator_bench.run(sizes, args.repeat)
    print(f"program: {counts} sources …", flush=True)
    program = program_bench.run(counts)
    print("lambda packages …", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        packages = packages_bench.run(Path(tmp))

    v_lines, v_targets = validator_section(validator)
    p_lines, p_targets = program_section(program)
    targets = v_targets + p_targets
    doc = [
        "# Benchmarks",
        "",
        f"Run `make bench` (`python -m benchmarks`). Latest run: {datetime.date.today().isoformat()} on {machine()}.",
        "",
        "Every number comes from one run with its baselines side by side; each validator case runs in a fresh "
        "process (peak RSS is its own, imports included) and reads through a local HTTP S3, so reads are real "
        "ranged GETs. `× footer floor` compares wall time with pyarrow reading only the footer; `× full decode` "
        "compares rows per second with pyarrow decoding every column of the same file (pre-buffered, its best). "
        "When values must be scanned the validator decodes only the columns it needs but fetches forward in "
        "4 MiB windows, so its bytes read approach the file size while its GETs stay few.",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---:|---|",
        *[f"| {name} | {value} | {verdict(ok)} |" for name, value, ok in targets],
        "",
        "## Validator",
        "",
        "```",
        textwrap.dedent(validator_bench.__doc__.split("\n\n", 2)[2]).strip(),
        "```",
        "",
        *v_lines,
        "## Pulumi program scaling (mocks)",
        "",
        *p_lines,
        "## Lambda packages",
        "",
        *packages_section(packages),
    ]
    text = "\n".join(doc)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
