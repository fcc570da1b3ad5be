"""The peer benchmark, end to end: builds the C++ part, runs both processes, merges, reports.

    bench/peers/run.sh [--quick] [--skip-build] [--cpp-args "..."] [--py-args "..."]
    (or, inside bench/peers/.venv: python bench/peers/report.py ...)

Writes bench/peers/results/: RESULTS.md (the tables), throughput.png (the chart) and raw.jsonl
(every line both processes printed, plus the C++ accuracy summaries). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import golden  # noqa: E402

RESULTS = HERE / "results"
BUILD = Path(os.environ.get("SMX_PEERS_BUILD", REPO / "build-peers"))
SHAPES = ["4096x1000", "512x32000", "16x128256", "32768x128", "1x16777216", "2048x8192"]
QUICK_SHAPES = "256x1000,1x100000"
OPS = ("softmax", "log_softmax")
PROCESS_LABEL = {"cpp": "C++", "python": "Python", "python-jax": "Python (JAX subprocess)"}


def log(message: str) -> None:
    print(f"report.py: {message}", file=sys.stderr, flush=True)


def build_cpp() -> Path | None:
    binary = BUILD / "bench" / "peers" / "cpp" / "smx_peers_bench"
    configure = ["cmake", "-S", str(REPO), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=Release"]
    configure += ["-DSMX_BUILD_TESTS=OFF", "-DSMX_BUILD_TOOLS=OFF", "-DSMX_BUILD_BENCHMARKS=ON"]
    jobs = str(min(os.cpu_count() or 2, 2))
    build = ["cmake", "--build", str(BUILD), "-j", jobs, "--target", "smx_peers_bench"]
    for command in (configure, build):
        log(" ".join(command))
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            log(f"C++ build failed; the C++ peers are skipped:\n{done.stdout[-3000:]}")
            return None
    if not binary.exists():
        log("smx_peers_bench was not configured (oneDNN, XNNPACK or Eigen missing): skipped")
        return None
    return binary


def run_lines(command: list[str], env: dict | None = None) -> list[dict]:
    log(" ".join(shlex.quote(c) for c in command))
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env)
    if done.returncode != 0:
        log(f"{command[0]} exited with {done.returncode}")
    records = []
    for line in done.stdout.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            log(f"not JSON: {line[:200]}")
    return records


def cpp_accuracy(binary: Path, cases: list[golden.Case]) -> list[dict]:
    cases_file = BUILD / "golden_cases.txt"
    golden.write_cpp_cases(cases, cases_file)
    records = run_lines([str(binary), "--accuracy", str(cases_file)])
    outputs = [r for r in records if r.get("kind") == "accuracy"]
    summaries = golden.summarize_cpp(outputs, cases)
    return [
        {
            "kind": "accuracy",
            "process": "cpp",
            "impl": impl,
            "op": op,
            "input": "z with T" if impl == "smx" else "z/T (f64, rounded to f32)",
            **summary.as_dict(),
        }
        for (impl, op), summary in sorted(summaries.items())
    ] + [r for r in records if r.get("kind") == "info"]


# --- the report --------------------------------------------------------------------------


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        model = fields.get("Model name", "?").strip()
        cpus = fields.get("CPU(s)", "?").strip()
        cores = fields.get("Core(s) per socket", "?").strip()
        sockets = fields.get("Socket(s)", "?").strip()
        return f"{model}, {cpus} CPU(s) ({cores} core(s) per socket, {sockets} socket(s))"
    except OSError:
        return platform.processor() or "?"


def debian_version(package: str) -> str:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], stdout=subprocess.PIPE, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else "?"


def fmt_ns(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def fmt_ulp(value) -> str:
    if value == "inf" or (isinstance(value, float) and math.isinf(value)):
        return "non-finite"
    return f"{value:.0f}" if value < 1e4 else f"{value:.1e}"


class Report:
    def __init__(self, records: list[dict]):
        self.records = records
        self.timing = [r for r in records if r.get("kind") == "timing"]
        self.accuracy = {
            (r["process"], r["impl"], r["op"]): r for r in records if r.get("kind") == "accuracy"
        }
        self.info = {
            (r["process"], r["key"]): r["value"] for r in records if r.get("kind") == "info"
        }
        self.skipped = [r for r in records if r.get("kind") == "skipped"]
        self.shapes = [s for s in SHAPES if any(t["shape"] == s for t in self.timing)]
        self.shapes += sorted({t["shape"] for t in self.timing} - set(self.shapes))
        self.threads = sorted({t["threads"] for t in self.timing})

    def find(self, process, impl, op, variant, shape, threads):
        for t in self.timing:
            if (t["process"], t["impl"], t["op"], t["variant"], t["shape"], t["threads"]) == (
                process, impl, op, variant, shape, threads
            ):
                return t
        return None

    def accuracy_of(self, process: str, impl: str, op: str):
        return self.accuracy.get((process, impl, op)) or self.accuracy.get(
            ("python" if process == "python-jax" else process, impl, op)
        )

    def speedup(self, t: dict) -> str:
        """How many times faster smx is than t: the same process and variant if smx ran there,
        else the C++ smx by ratio to each process's own copy (marked †)."""
        if t["impl"] == "smx":
            return "—"
        same = self.find(t["process"], "smx", t["op"], t["variant"], t["shape"], t["threads"])
        if same:
            return f"{t['ns_per_element'] / same['ns_per_element']:.2f}×"
        cpp = self.find("cpp", "smx", t["op"], "out", t["shape"], t["threads"])
        if cpp:
            return f"{t['ratio'] / cpp['ratio']:.2f}×†"
        return "?"

    def rows(self, shape: str, threads: int) -> list[tuple]:
        """(process, impl, variant) in table order."""
        keys = []
        for t in self.timing:
            if t["shape"] == shape and t["threads"] == threads and t["impl"] != "copy":
                key = (t["process"], t["impl"], t["variant"])
                if key not in keys:
                    keys.append(key)
        order = {"cpp": 0, "python": 1, "python-jax": 2}
        return sorted(keys, key=lambda k: (order.get(k[0], 3), k[1] != "smx", keys.index(k)))

    def table(self, shape: str, threads: int) -> list[str]:
        lines = [f"### {shape}, {threads} thread{'s' if threads > 1 else ''}", ""]
        copies = [
            f"{PROCESS_LABEL.get(t['process'], t['process'])} {fmt_ns(t['ns_per_element'])}"
            for t in self.timing
            if t["shape"] == shape and t["threads"] == threads and t["impl"] == "copy"
        ]
        lines.append("Copy of the same bytes, ns/element: " + "; ".join(copies) + ".")
        lines.append("")
        lines.append(
            "| impl | process | output | softmax ns/elem | ×copy | smx speedup "
            "| log_softmax ns/elem | ×copy | smx speedup | max ULP (softmax / log) |"
        )
        lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for process, impl, variant in self.rows(shape, threads):
            cells = [f"**{impl}**" if impl == "smx" else impl, PROCESS_LABEL.get(process, process)]
            cells.append("preallocated" if variant == "out" else "allocating")
            ulps = []
            for op in OPS:
                t = self.find(process, impl, op, variant, shape, threads)
                if t is None:
                    cells += ["—", "—", "—"]
                else:
                    mark = " (1t)" if t.get("single_threaded") else ""
                    ns = fmt_ns(t["ns_per_element"]) + mark
                    cells += [ns, f"{t['ratio']:.2f}", self.speedup(t)]
                a = self.accuracy_of(process, impl, op)
                ulps.append(fmt_ulp(a["max_ulp"]) if a else "—")
            cells.append(" / ".join(ulps))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        return lines

    def accuracy_table(self) -> list[str]:
        lines = [
            "## Accuracy on the golden cases",
            "",
            "f32 softmax and log_softmax cases of `shared/golden/public.jsonl` (K = 0 cases left "
            "out). Max ULP is over the ordinary cases (not `edge-*`, T > 0) against the correctly "
            "rounded f32 result; an element whose truth is below 2^-126 counts 0 ULP within 1e-37 "
            "(FORMAT.md). Peers without a temperature get z/T computed in f64 and rounded to f32 "
            "as input; T = 0 (hardmax) cases are smx's alone. A huge ULP figure on log_softmax is "
            "a 0 where the truth is a tiny negative number (a dominant entry).",
            "",
            "| impl | process | op | input | max ULP | cases ≤ 4 ULP | edge cases right |",
            "|---|---|---|---|---:|---:|---:|",
        ]
        for (process, impl, op), a in sorted(
            self.accuracy.items(), key=lambda kv: (kv[0][0], kv[0][1] != "smx", kv[0][1], kv[0][2])
        ):
            lines.append(
                f"| {impl} | {PROCESS_LABEL.get(process, process)} | {op} | {a['input']} "
                f"| {fmt_ulp(a['max_ulp'])} | {a['cases_within_4ulp']}/{a['cases']} "
                f"| {a['edge_ok']}/{a['edge_cases']} |"
            )
        lines.append("")
        return lines

    def header(self, command: str, started: str, seconds: float) -> list[str]:
        versions = [f"smx {self.info.get(('cpp', 'smx'), '?')} (C++)"]
        for key, label in [("onednn", "oneDNN"), ("eigen", "Eigen")]:
            if ("cpp", key) in self.info:
                versions.append(f"{label} {self.info[('cpp', key)]}")
        versions.append(f"XNNPACK (Debian {debian_version('libxnnpack0')})")
        for key in ("python", "numpy", "smx", "torch", "scipy", "onnxruntime"):
            if ("python", key) in self.info:
                versions.append(f"{key} {self.info[('python', key)]}")
        if ("python-jax", "jax") in self.info:
            versions.append(f"jax {self.info[('python-jax', 'jax')]}")
        rounds = sorted({t["rounds"] for t in self.timing})
        lines = [
            "# smx beside its peers",
            "",
            f"- Command: `{command}`",
            f"- Date: {started}; the run took {seconds / 60:.1f} min "
            f"({self.info.get(('report', 'minutes'), '?')})",
            f"- Machine: {machine()}",
            f"- Versions: {', '.join(versions)}",
            f"- f32, softmax over the last axis; logits N(0, 3); medians of "
            f"{'/'.join(map(str, rounds))} interleaved "
            "rounds; ns per element (lower is better); ×copy = the figure over a plain copy of "
            "the same bytes on as many threads, timed interleaved in the same process; smx "
            "speedup = the peer's time over smx's (same process and output kind; † = no smx in "
            "that process: the C++ smx compared by ×copy).",
            "- Preallocated = the output buffer is reused (`out=`); allocating = a fresh output "
            "per call, page faults included. (1t) = a single-threaded peer: its 1-thread figure "
            "and ×copy.",
            "- XNNPACK is Debian's 2022 build: its softmax runs SSE2 kernels on this CPU. oneDNN "
            "implementation: " + ", ".join(sorted({v for (p, k), v in self.info.items()
                                                    if k.startswith("onednn_impl")})) + ". "
            "ONNX Runtime: intra_op_num_threads = threads, pool spinning off. JAX: a subprocess "
            "per thread count (XLA_FLAGS).",
        ]
        for s in self.skipped:
            lines.append(f"- **Skipped: {s['impl']}** — {s['reason']}")
        lines.append("")
        return lines

    def summary(self) -> list[str]:
        """One line per (shape, threads), softmax: smx and the fastest peer by ratio to their own
        process's copy (preallocated outputs; single-threaded peers count at 2 threads too), smx's
        speedup over it (against smx in the same process), and PyTorch with and without out=."""
        lines = [
            "## Summary: softmax, f32, ratio to a copy of the same bytes (lower is better)",
            "",
            "| shape | threads | smx C++ | smx Python (out= / allocating) | fastest peer | "
            "smx speedup over it | PyTorch (out= / allocating) |",
            "|---|---:|---:|---:|---|---:|---:|",
        ]

        def ratio(process, impl, variant, shape, threads):
            t = self.find(process, impl, "softmax", variant, shape, threads)
            return t["ratio"] if t else None

        def cell(*values):
            return " / ".join("—" if v is None else f"{v:.2f}" for v in values)

        for shape in self.shapes:
            for threads in self.threads:
                smx_cpp = ratio("cpp", "smx", "out", shape, threads)
                peers = [
                    (t["ratio"], t["impl"] + (" (1 thread)" if t.get("single_threaded") else "")
                     + ("" if t["process"] == "cpp" else ", Python"), t["process"])
                    for t in self.timing
                    if t["shape"] == shape and t["threads"] == threads and t["op"] == "softmax"
                    and t["impl"] not in ("smx", "copy") and t["variant"] == "out"
                ]
                best = min(peers) if peers else None
                # Against smx in the peer's own process where smx ran there (JAX's has none).
                mine = ratio(best[2], "smx", "out", shape, threads) if best else None
                mine = mine or smx_cpp
                speedup = f"{best[0] / mine:.2f}×" if best and mine else "—"
                variants = ("out", "alloc")
                smx_py = cell(*(ratio("python", "smx", v, shape, threads) for v in variants))
                torch = cell(*(ratio("python", "torch", v, shape, threads) for v in variants))
                fastest = f"{best[1]} {best[0]:.2f}" if best else "—"
                lines.append(
                    f"| {shape} | {threads} | {cell(smx_cpp)} | {smx_py} | {fastest} | {speedup} "
                    f"| {torch} |"
                )
        lines.append("")
        return lines

    def bar(self) -> list[str]:
        """The core issue's bar from the C++ process alone, where smx, the C++ peers and the copy
        are timed interleaved: the fastest peer's softmax over the copy, ÷ 1.15 at 1 thread and
        ÷ 1.5 at 2 (a single-threaded peer counts at 2 threads with its 1-thread time over the
        2-thread copy), or the copy ÷ 0.9, whichever is larger; smx's softmax and log_softmax are
        both held to it."""
        lines = [
            "## The bar of the core issue (C++ process)",
            "",
            "Ratios to the copy of the same run: fastest peer (oneDNN, XNNPACK, Eigen; softmax), "
            "the bar = max(peer ÷ 1.15 at 1 thread or ÷ 1.5 at 2 threads, 1 ÷ 0.9), and smx. "
            "All from one process, interleaved, so that a change in the machine's memory "
            "bandwidth between runs moves every figure of a row together.",
            "",
            "| shape | threads | fastest peer (×copy) | bar (×copy) | smx softmax | "
            "smx log_softmax |",
            "|---|---:|---|---:|---:|---:|",
        ]
        met = total = 0
        for shape in self.shapes:
            for threads in self.threads:
                copy = self.find("cpp", "copy", "copy", "out", shape, threads)
                if copy is None:
                    continue
                copy_ns = copy["ns_per_element"]
                peers = []
                for t in self.timing:
                    if (t["process"], t["op"], t["shape"]) != ("cpp", "softmax", shape):
                        continue
                    if t["impl"] in ("smx", "copy") or t.get("single_threaded"):
                        continue
                    if t["threads"] == threads or (t["threads"] == 1 and t["impl"] == "eigen"):
                        label = t["impl"] + (" (1 thread)" if t["threads"] != threads else "")
                        peers.append((t["ns_per_element"] / copy_ns, label))
                if not peers:
                    continue
                best = min(peers)
                bar = max(best[0] / (1.15 if threads == 1 else 1.5), 1 / 0.9)
                cells = []
                for op in OPS:
                    t = self.find("cpp", "smx", op, "out", shape, threads)
                    if t is None:
                        cells.append("—")
                        continue
                    r = t["ns_per_element"] / copy_ns
                    total += 1
                    met += r <= bar
                    cells.append(f"{r:.2f} {'✓' if r <= bar else '✗'}")
                lines.append(
                    f"| {shape} | {threads} | {best[1]} {best[0]:.2f} | {bar:.2f} | "
                    + " | ".join(cells) + " |"
                )
        lines += ["", f"{met} of {total} (shape, threads, op) meet the bar in this run.", ""]
        return lines

    def markdown(self, command: str, started: str, seconds: float) -> str:
        lines = self.header(command, started, seconds)
        lines += self.summary()
        lines += self.bar()
        for shape in self.shapes:
            for threads in self.threads:
                lines += self.table(shape, threads)
        lines += self.accuracy_table()
        return "\n".join(lines)

    def chart(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        series = []  # (process, impl, variant) with softmax figures
        for t in self.timing:
            key = (t["process"], t["impl"], t["variant"])
            if t["op"] == "softmax" and key not in series:
                series.append(key)
        order = {"cpp": 0, "python": 1, "python-jax": 2}
        series.sort(key=lambda k: (order.get(k[0], 3), k[1] != "smx", k[1], k[2]))
        figure, axes = plt.subplots(
            len(self.threads), 1, figsize=(16, 5.5 * len(self.threads)), squeeze=False
        )
        width = 0.8 / max(len(series), 1)
        colors = plt.get_cmap("tab20")
        for row, threads in enumerate(self.threads):
            ax = axes[row][0]
            for i, (process, impl, variant) in enumerate(series):
                values = []
                for shape in self.shapes:
                    t = self.find(process, impl, "softmax", variant, shape, threads)
                    values.append(t["ratio"] if t else float("nan"))
                label = f"{impl} ({'C++' if process == 'cpp' else 'Py'}, "
                label += "prealloc)" if variant == "out" else "alloc)"
                offset = (i - len(series) / 2 + 0.5) * width
                positions = [s + offset for s in range(len(self.shapes))]
                single = any(
                    t.get("single_threaded")
                    for t in self.timing
                    if (t["process"], t["impl"], t["variant"], t["threads"])
                    == (process, impl, variant, threads)
                )
                ax.bar(positions, values, width, label=label if row == 0 else None,
                       color=colors(i % 20), edgecolor="black" if impl == "smx" else None,
                       hatch="//" if single else None, alpha=0.45 if single else 1.0)
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.set_yscale("log")
            ax.set_xticks(range(len(self.shapes)))
            ax.set_xticklabels(self.shapes)
            ax.set_ylabel("time / copy of the same bytes (log; 1 = memory speed)")
            title = f"softmax, f32, {threads} thread{'s' if threads > 1 else ''} (lower is better)"
            if threads > 1:
                title += "; hatched: single-threaded peers, their 1-thread figure"
            ax.set_title(title)
            ax.grid(axis="y", which="both", alpha=0.3)
        axes[0][0].legend(ncol=4, fontsize=8, loc="upper left")
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, few rounds (a check)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--cpp-args", default="", help="extra arguments for smx_peers_bench")
    parser.add_argument("--py-args", default="", help="extra arguments for peers.py")
    parser.add_argument("--command", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    start = time.monotonic()
    command = (args.command or "python bench/peers/report.py " + " ".join(sys.argv[1:])).strip()

    cpp_args, py_args = shlex.split(args.cpp_args), shlex.split(args.py_args)
    if args.quick:
        cpp_args = ["--shapes", QUICK_SHAPES, "--rounds", "3", "--min-batch-ms", "5"] + cpp_args
        py_args = ["--shapes", QUICK_SHAPES, "--rounds", "3", "--min-batch-ms", "5"] + py_args

    records: list[dict] = []
    cases = golden.load_cases()
    binary = BUILD / "bench" / "peers" / "cpp" / "smx_peers_bench"
    if not args.skip_build:
        binary = build_cpp()
    if binary is not None and binary.exists():
        records += cpp_accuracy(binary, cases)
        records += [r for r in run_lines([str(binary)] + cpp_args) if r.get("kind") != "info"
                    or not any(r.get("key") == o.get("key") for o in records)]
    else:
        records.append({"kind": "skipped", "process": "cpp", "impl": "C++ peers",
                        "reason": "smx_peers_bench could not be built (see the log)"})
    cpp_seconds = time.monotonic() - start
    records += run_lines([sys.executable, str(HERE / "peers.py")] + py_args)
    seconds = time.monotonic() - start
    minutes = f"build and C++ {cpp_seconds / 60:.1f}, Python {(seconds - cpp_seconds) / 60:.1f}"
    records.append({"kind": "info", "process": "report", "key": "minutes", "value": minutes})

    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "raw.jsonl", "w", encoding="utf-8") as raw:
        for r in records:
            raw.write(json.dumps(r) + "\n")
    report = Report(records)
    markdown = report.markdown(command, started, seconds)
    (RESULTS / "RESULTS.md").write_text(markdown, encoding="utf-8")
    try:
        report.chart(RESULTS / "throughput.png")
    except ImportError as e:
        log(f"no chart: {e}")
    log(f"wrote {RESULTS}/RESULTS.md, throughput.png, raw.jsonl in {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
