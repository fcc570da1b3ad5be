"""Attention beside PyTorch, in one process: smx.scaled_dot_product_attention (and its backward
pass) against torch.nn.functional.scaled_dot_product_attention (and autograd), f32.

    python bench/peers/attention.py [--lengths 512,2048,8192] [--dims 64,128] [--threads 1,2]
                                    [--rounds N] [--quick] [--markdown PATH]

Training shapes: [1, 16, L, d] for q, k and v (B H = 16), causal and not; forward, and forward +
backward (grad_out given, the gradients of q, k and v). Decoding: B = 1, H = 32, d = 128, one
query against Lk keys. bf16: forward at L <= 2048, reported without a bar. Each pair of entries
(smx and torch) is warmed up, then timed in --rounds rounds (1 at L = 8192; decoding at least 9),
alternating, the order swapped every round; figures are medians. Throughput is GFLOP/s of the
score and value products: forward 4 L^2 d (B H), half of it causal; backward counted as 2.5
times the forward (its five tile products), as FlashAttention counts. Prints one JSON object per
line; --markdown writes a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from alternating import timed


def emit(**record) -> None:
    print(json.dumps(record), flush=True)


def paired(smx_run, torch_run, rounds: int) -> tuple:
    """Median seconds per call of smx's run and torch's, in alternating rounds."""
    return tuple(timed([smx_run, torch_run], rounds, min_seconds=0.2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", default="512,2048,8192")
    parser.add_argument("--dims", default="64,128")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--decode", default="4096,32768")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="L = 512 and 2048, d = 64, 1 round")
    parser.add_argument("--markdown", default="")
    args = parser.parse_args()
    lengths = [int(v) for v in args.lengths.split(",") if v]
    dims = [int(v) for v in args.dims.split(",") if v]
    decode = [int(v) for v in args.decode.split(",") if v]
    rounds = args.rounds
    if args.quick:
        lengths, dims, decode, rounds = [512, 2048], [64], [4096], 1
    threads_list = [int(t) for t in args.threads.split(",")]

    import smx
    import torch
    import torch.nn.functional as F

    emit(kind="info", key="smx", value=smx.__version__, simd_target=smx.simd_target())
    emit(kind="info", key="torch", value=torch.__version__)
    rows = []
    gen = torch.Generator().manual_seed(11)
    for threads in threads_list:
        smx.set_num_threads(threads)
        torch.set_num_threads(threads)
        for length in lengths:
            for d in dims:
                q, k, v, g = (torch.randn(1, 16, length, d, generator=gen) for _ in range(4))
                for causal in (False, True):
                    flops = 4.0 * 16 * length * length * d * (0.5 if causal else 1.0)
                    qn, kn, vn, gn = (x.numpy() for x in (q, k, v, g))
                    out, lse = smx.scaled_dot_product_attention(qn, kn, vn, is_causal=causal,
                                                                return_lse=True)

                    def smx_fwd():
                        smx.scaled_dot_product_attention(qn, kn, vn, is_causal=causal, out=out)

                    def smx_fwd_bwd():
                        o, l = smx.scaled_dot_product_attention(qn, kn, vn, is_causal=causal,
                                                                return_lse=True)
                        smx.scaled_dot_product_attention_backward(gn, qn, kn, vn, o, l,
                                                                  is_causal=causal)

                    qt, kt, vt = (x.clone().requires_grad_(True) for x in (q, k, v))

                    def torch_fwd():
                        with torch.no_grad():
                            F.scaled_dot_product_attention(q, k, v, is_causal=causal)

                    def torch_fwd_bwd():
                        for x in (qt, kt, vt):
                            x.grad = None
                        F.scaled_dot_product_attention(qt, kt, vt, is_causal=causal).backward(g)

                    n = 1 if length >= 8192 else rounds
                    record = dict(kind="attention", mode="train", L=length, d=d, causal=causal,
                                  threads=threads, rounds=n)
                    record["smx_fwd_s"], record["torch_fwd_s"] = paired(smx_fwd, torch_fwd, n)
                    record["smx_fwd_bwd_s"], record["torch_fwd_bwd_s"] = paired(
                        smx_fwd_bwd, torch_fwd_bwd, n)
                    for key in ("fwd", "fwd_bwd"):
                        work = flops * (3.5 if key == "fwd_bwd" else 1.0)
                        record[f"smx_{key}_gflops"] = work / record[f"smx_{key}_s"] / 1e9
                        record[f"torch_{key}_gflops"] = work / record[f"torch_{key}_s"] / 1e9
                        record[f"{key}_speedup"] = record[f"torch_{key}_s"] / record[f"smx_{key}_s"]
                    emit(**record)
                    rows.append(record)
        # bf16 in and out (smx widens to f32 on packing; PyTorch runs oneDNN's bf16 kernels):
        # reported beside each other, forward only, no bar.
        for length in lengths:
            if length > 2048:
                continue
            for d in dims:
                q, k, v = (torch.randn(1, 16, length, d, generator=gen).bfloat16() for _ in range(3))
                out = smx.scaled_dot_product_attention(q, k, v)

                def smx_bf16():
                    smx.scaled_dot_product_attention(q, k, v, out=out)

                def torch_bf16():
                    with torch.no_grad():
                        F.scaled_dot_product_attention(q, k, v)

                flops = 4.0 * 16 * length * length * d
                smx_s, torch_s = paired(smx_bf16, torch_bf16, rounds)
                record = dict(kind="attention", mode="bf16", L=length, d=d, threads=threads,
                              rounds=rounds, smx_s=smx_s, torch_s=torch_s)
                record["smx_gflops"] = flops / record["smx_s"] / 1e9
                record["torch_gflops"] = flops / record["torch_s"] / 1e9
                record["speedup"] = record["torch_s"] / record["smx_s"]
                emit(**record)
                rows.append(record)
        for lk in decode:
            q = torch.randn(1, 32, 1, 128, generator=gen)
            k, v = (torch.randn(1, 32, lk, 128, generator=gen) for _ in range(2))
            qn, kn, vn = q.numpy(), k.numpy(), v.numpy()
            out = smx.scaled_dot_product_attention(qn, kn, vn)

            def smx_decode():
                smx.scaled_dot_product_attention(qn, kn, vn, out=out)

            def torch_decode():
                with torch.no_grad():
                    F.scaled_dot_product_attention(q, k, v)

            # Decoding calls take milliseconds: more rounds cost little and steady the medians.
            decode_rounds = max(rounds, 9)
            smx_s, torch_s = paired(smx_decode, torch_decode, decode_rounds)
            record = dict(kind="attention", mode="decode", Lk=lk, threads=threads,
                          rounds=decode_rounds, smx_s=smx_s, torch_s=torch_s)
            record["speedup"] = record["torch_s"] / record["smx_s"]
            emit(**record)
            rows.append(record)
    if args.markdown:
        lines = [
            "# Attention: smx beside PyTorch",
            "",
            f"`bench/peers/attention.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
            f"smx {smx.__version__} ({smx.simd_target()}), torch {torch.__version__}, f32, "
            f"medians of {rounds} rounds (1 at L = 8192). GFLOP/s: forward 4 L^2 d per head "
            "(half causal), forward + backward 3.5 times that.",
            "",
            "| L | d | causal | threads | fwd smx | fwd torch | fwd speedup | fwd+bwd smx "
            "| fwd+bwd torch | fwd+bwd speedup |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            if r["mode"] != "train":
                continue
            lines.append(
                f"| {r['L']} | {r['d']} | {'yes' if r['causal'] else 'no'} | {r['threads']} | "
                f"{r['smx_fwd_gflops']:.0f} | {r['torch_fwd_gflops']:.0f} | "
                f"{r['fwd_speedup']:.2f}x | {r['smx_fwd_bwd_gflops']:.0f} | "
                f"{r['torch_fwd_bwd_gflops']:.0f} | {r['fwd_bwd_speedup']:.2f}x |")
        lines += ["", "Decoding (B = 1, H = 32, d = 128, one query), milliseconds:", "",
                  "| Lk | threads | smx | torch | speedup |", "|---:|---:|---:|---:|---:|"]
        for r in rows:
            if r["mode"] == "decode":
                lines.append(f"| {r['Lk']} | {r['threads']} | {r['smx_s'] * 1e3:.2f} | "
                             f"{r['torch_s'] * 1e3:.2f} | {r['speedup']:.2f}x |")
        lines += ["", "bf16 in and out, forward, GFLOP/s (no bar: Highway 1.0.3 has no bf16 "
                  "dot-product target, so smx computes in f32):", "",
                  "| L | d | threads | smx | torch | speedup |", "|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            if r["mode"] == "bf16":
                lines.append(f"| {r['L']} | {r['d']} | {r['threads']} | {r['smx_gflops']:.0f} | "
                             f"{r['torch_gflops']:.0f} | {r['speedup']:.2f}x |")
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
