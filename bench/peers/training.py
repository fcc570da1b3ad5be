"""The training ops beside PyTorch, in one process: softmax's backward and the fused
cross-entropy forward + backward (class indices, mean), with a copy of the same bytes.

    python bench/peers/training.py [--shapes 4096x1000,...] [--threads 1,2] [--rounds N]
                                   [--min-batch-ms MS] [--quick] [--markdown PATH]

Prints one JSON object per line ("kind": "info" or "training") and, with --markdown, writes a
table. For each shape and thread count the entries (the copy, smx, torch) are warmed up, given a
batch size, then timed in --rounds rounds with the order rotated each round; figures are medians.

What each entry moves, and the copy it is compared with (half its reads plus writes): the faster
of two copies timed beside it, torch.Tensor.copy_ on the same threads (its OpenMP copy in C++)
and numpy.copyto on one (the C library's memcpy). At 2 threads copy_ is the fast one (numpy.copyto
slices handed to a Python thread pool took 0.135 ns/element against copy_'s 0.052 and made every
2-thread "smx / copy" look 2-3x better than it was); at 1 thread memcpy can be (on Emerald Rapids
0.48 against copy_'s 0.75 ns/element on 16x128256's bytes: glibc's large copies skip the read of
each destination line that vector stores pay).
  softmax_backward: reads y and g, writes dz (3 floats per element; the copy: 1.5 per element);
  cross_entropy:    reads the logits, writes their gradient (2 per element; the copy: 1), plus one
                    class index per row.
PyTorch is timed as its users call it: torch._softmax_backward_data(g, y, -1, float32), and
F.cross_entropy(z, t) followed by loss.backward() (z.grad cleared before each call).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

SHAPES = ["4096x1000", "512x32000", "16x128256", "32768x128", "1x16777216", "2048x8192"]
SETTLE_SECONDS = 0.005


def emit(**record) -> None:
    print(json.dumps(record), flush=True)


def copier(x: np.ndarray, y: np.ndarray):
    """y = x by torch's copy_, on the threads torch.set_num_threads gave it."""
    import torch

    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return lambda: ty.copy_(tx)


def memcpy_copier(x: np.ndarray, y: np.ndarray):
    """y = x by numpy.copyto: the C library's memcpy, on one thread."""
    return lambda: np.copyto(y, x)


def seconds_of(run, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def time_entries(entries: dict, rounds: int, min_batch: float) -> dict:
    calls = {}
    for name, run in entries.items():
        run()
        calls[name] = max(1, math.ceil(min_batch / max(seconds_of(run, 1), 1e-9)))
    seconds = {name: [] for name in entries}
    names = list(entries)
    for r in range(rounds):
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            time.sleep(SETTLE_SECONDS)
            seconds[name].append(seconds_of(entries[name], calls[name]))
    return {name: float(np.median(v)) for name, v in seconds.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--min-batch-ms", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="two shapes, 3 rounds")
    parser.add_argument("--markdown", default="")
    args = parser.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    rounds = args.rounds
    if args.quick:
        shapes, rounds = ["4096x1000", "32768x128"], 3
    threads_list = [int(t) for t in args.threads.split(",")]

    import smx
    import torch
    import torch.nn.functional as F

    emit(kind="info", key="smx", value=smx.__version__, simd_target=smx.simd_target())
    emit(kind="info", key="torch", value=torch.__version__)
    rows_out = []
    for shape in shapes:
        rows, cols = (int(v) for v in shape.split("x"))
        rng = np.random.default_rng(20240611)
        x = (rng.standard_normal((rows, cols), np.float32) * 3).astype(np.float32)
        g = rng.standard_normal((rows, cols), np.float32)
        y = smx.softmax(x)
        dz = np.empty_like(x)
        t = rng.integers(0, cols, rows)
        n = rows * cols
        # Written, not np.zeros: calloc'd pages never written all map the kernel's one zero page,
        # and a copy from them reads from the cache (it measured 0.17 against 0.30 ns/element).
        copy_src = np.ones(n + n // 2, np.float32)
        copy_dst = np.ones_like(copy_src)
        xt, gt, yt, tt = (torch.from_numpy(a) for a in (x, g, y, t))
        for threads in threads_list:
            smx.set_num_threads(threads)
            torch.set_num_threads(threads)
            zt = xt.clone().requires_grad_(True)

            def torch_ce():
                zt.grad = None
                F.cross_entropy(zt, tt).backward()

            entries = {
                "copy 1.5n": copier(copy_src, copy_dst),
                "copy n": copier(copy_src[:n], copy_dst[:n]),
                "memcpy 1.5n": memcpy_copier(copy_src, copy_dst),
                "memcpy n": memcpy_copier(copy_src[:n], copy_dst[:n]),
                "smx softmax_backward": lambda: smx.softmax_backward(g, y, out=dz),
                "torch softmax_backward": lambda: torch._softmax_backward_data(gt, yt, -1,
                                                                               torch.float32),
                "smx cross_entropy": lambda: smx.cross_entropy(x, t, grad_out=dz),
                "smx cross_entropy alloc": lambda: smx.cross_entropy(x, t, return_grad=True),
                "torch cross_entropy": torch_ce,
                "smx softmax": lambda: smx.softmax(x, out=dz),
            }
            sec = time_entries(entries, rounds, args.min_batch_ms * 1e-3)
            ns = {k: v * 1e9 / n for k, v in sec.items()}
            for op, size in (("softmax_backward", "1.5n"), ("cross_entropy", "n")):
                copies = {"copy_": ns[f"copy {size}"], "memcpy": ns[f"memcpy {size}"]}
                copy_by = min(copies, key=copies.get)
                record = dict(
                    kind="training", op=op, shape=shape, threads=threads, rounds=rounds,
                    smx_ns=ns[f"smx {op}"], torch_ns=ns[f"torch {op}"], copy_ns=copies[copy_by],
                    copy_by=copy_by, torch_copy_ns=copies["copy_"], memcpy_ns=copies["memcpy"],
                    smx_softmax_ns=ns["smx softmax"],
                    smx_alloc_ns=ns.get(f"smx {op} alloc"),
                )
                record["vs_copy"] = record["smx_ns"] / record["copy_ns"]
                record["speedup_vs_torch"] = record["torch_ns"] / record["smx_ns"]
                record["vs_smx_softmax"] = record["smx_ns"] / record["smx_softmax_ns"]
                emit(**record)
                rows_out.append(record)
        del x, g, y, dz, copy_src, copy_dst
    if args.markdown:
        lines = [
            "# Training ops: smx beside PyTorch",
            "",
            f"`bench/peers/training.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
            f"smx {smx.__version__} ({smx.simd_target()}), torch {torch.__version__}, f32, "
            f"medians of {rounds} rounds, ns per element. The copy moves the same bytes as the op "
            "(softmax_backward: 1.5 floats per element read and written; cross_entropy: 1): the "
            "faster of torch's copy_ on the same threads and memcpy (numpy.copyto) on one, marked "
            "m where memcpy was the faster.",
            "",
            "| op | shape | threads | smx | torch | copy | smx / copy | torch / smx "
            "| smx / smx softmax |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows_out:
            lines.append(
                f"| {r['op']} | {r['shape']} | {r['threads']} | {r['smx_ns']:.3f} | "
                f"{r['torch_ns']:.3f} | {r['copy_ns']:.3f}{' m' if r['copy_by'] == 'memcpy' else ''} | "
                f"{r['vs_copy']:.2f} | "
                f"{r['speedup_vs_torch']:.1f} | {r['vs_smx_softmax']:.2f} |"
            )
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
