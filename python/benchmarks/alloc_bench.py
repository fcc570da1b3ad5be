"""What an allocating call costs: smx.softmax(x) against smx.softmax(x, out=y), ns per element.

    python python/benchmarks/alloc_bench.py [--shape 512 32000] [--threads 1 2] [--repeats 30]

Allocation modes: "out=" (a warm preallocated output); "numpy.empty 4 KiB" (numpy.empty with
NumPy's own huge-page advice switched off: fresh 4 KiB pages every call); "numpy.empty THP"
(numpy.empty as NumPy does it by default on Linux, madvise(MADV_HUGEPAGE) on large arrays);
"smx huge pages" (smx's allocator, no cache: fresh 2 MiB pages every call); "smx huge pages +
cache" (the default: the buffer freed by the previous result is reused, no page is touched for
the first time). The modes run interleaved, each call dropping its result before the next, and
the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import smx
from smx import _array, _smx

DEFAULT_CACHE = _smx.allocator_info()["cache_bytes"]


def _numpy_madvise(enabled: bool) -> None:
    core = getattr(np, "_core", None) or np.core
    core.multiarray._set_madvise_hugepage(enabled)


def configure(mode: str) -> None:
    numpy_mode = mode.startswith("numpy")
    _array.HUGE_PAGE_THRESHOLD = float("inf") if numpy_mode else 4 << 20
    _numpy_madvise(mode != "numpy.empty 4 KiB")
    _smx.configure_allocator(True, 0 if mode == "smx huge pages" else DEFAULT_CACHE)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", type=int, nargs="+", default=[512, 32000])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    x = np.random.default_rng(0).standard_normal(args.shape, dtype=np.float32)
    n = x.size
    modes = ["out=", "numpy.empty 4 KiB", "numpy.empty THP", "smx huge pages",
             "smx huge pages + cache"]
    print(f"smx {smx.__version__} on {smx.simd_target()}, softmax f32 {tuple(args.shape)}, "
          f"{x.nbytes / 2**20:.1f} MiB output, median of {args.repeats}")
    for threads in args.threads:
        smx.set_num_threads(threads)
        times = {m: [] for m in modes}
        y = np.empty_like(x)
        for _ in range(args.repeats):
            for mode in modes:
                configure(mode)
                if mode == "out=":
                    t0 = time.perf_counter()
                    smx.softmax(x, out=y)
                    times[mode].append(time.perf_counter() - t0)
                else:
                    if mode.endswith("cache"):
                        # Steady state: the previous result of this mode has just been freed (the
                        # "smx huge pages" mode empties the cache, so warm it again here).
                        smx.softmax(x)  # allocates, and frees the result at once
                    t0 = time.perf_counter()
                    r = smx.softmax(x)
                    times[mode].append(time.perf_counter() - t0)
                    del r
        configure("smx huge pages + cache")
        for mode in modes:
            ns = statistics.median(times[mode]) / n * 1e9
            print(f"  threads {threads}  {mode:<22} {ns:6.3f} ns/element")


if __name__ == "__main__":
    main()
