"""Sampling beside PyTorch, in one process: smx.sample against the sort-based sampler that
language-model libraries write in PyTorch (vLLM's apply_top_k_top_p, Hugging Face's logits
warpers): sort the vocabulary, mask by top-k, softmax and cumsum for top-p, scatter back, softmax,
torch.multinomial. Also one smx.softmax of the same logits: the issue's bar is smx.sample within
2x of it, and at least 10x faster than the PyTorch sampler.

    python bench/peers/sampling.py [--vocab 32000,128256,256000] [--batch 1,8,64]
                                   [--threads 1,2] [--rounds N] [--quick] [--markdown PATH]

Logits are f32 Normal(0, 3), T = 1; filters top-k 50, top-p 0.9 and both. Each pair (smx and
torch) is warmed up, then timed in --rounds rounds, alternating, the order swapped every round;
figures are medians. Prints one JSON object per line; --markdown writes a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from alternating import timed

FILTERS = (("top-k 50", 50, 1.0), ("top-p 0.9", 0, 0.9), ("both", 50, 0.9))


def emit(**record) -> None:
    print(json.dumps(record), flush=True)


def torch_sampler(torch, logits, k: int, p: float, generator):
    """The usual PyTorch implementation (vLLM's apply_top_k_top_p, then multinomial)."""
    logits_sort, logits_idx = logits.sort(dim=-1, descending=False)
    if k:
        threshold = logits_sort[:, -k].unsqueeze(1)
        logits_sort = logits_sort.masked_fill(logits_sort < threshold, -float("inf"))
    if p < 1:
        probs_sort = logits_sort.softmax(dim=-1)
        probs_sum = probs_sort.cumsum(dim=-1)
        mask = probs_sum <= 1 - p
        mask[:, -1] = False
        logits_sort = logits_sort.masked_fill(mask, -float("inf"))
    logits = logits_sort.scatter(dim=-1, index=logits_idx, src=logits_sort)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).view(-1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", default="32000,128256,256000")
    parser.add_argument("--batch", default="1,8,64")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="V = 32000, batch 1 and 8, 3 rounds")
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    import torch

    import smx

    vocabs = [32000] if args.quick else [int(v) for v in args.vocab.split(",")]
    batches = [1, 8] if args.quick else [int(b) for b in args.batch.split(",")]
    rounds = 3 if args.quick else args.rounds
    threads_list = [int(t) for t in args.threads.split(",")]
    rng = np.random.default_rng(7)
    rows = []
    for vocab in vocabs:
        for batch in batches:
            z = rng.normal(0, 3, (batch, vocab)).astype(np.float32)
            zt = torch.from_numpy(z)
            y = np.empty_like(z)
            for threads in threads_list:
                smx.set_num_threads(threads)
                torch.set_num_threads(threads)
                generator = torch.Generator().manual_seed(1)
                for name, k, p in FILTERS:
                    step = [0]

                    def smx_run():
                        step[0] += 1
                        smx.sample(z, seed=1, step=step[0] % 2**32, top_k=k or None,
                                   top_p=p if p < 1 else None)

                    def torch_run():
                        torch_sampler(torch, zt, k, p, generator)

                    def softmax_run():
                        smx.softmax(z, out=y)

                    smx_s, torch_s, softmax_s = timed([smx_run, torch_run, softmax_run], rounds, min_seconds=0.05)
                    record = dict(kind="sample", vocab=vocab, batch=batch, filter=name,
                                  threads=threads, rounds=rounds, smx_s=smx_s, torch_s=torch_s,
                                  softmax_s=softmax_s, speedup=torch_s / smx_s,
                                  vs_softmax=smx_s / softmax_s)
                    emit(**record)
                    rows.append(record)
    smx.set_num_threads(0)
    if args.markdown:
        worst_speedup = min(r["speedup"] for r in rows)
        worst_ratio = max(r["vs_softmax"] for r in rows)
        lines = [
            "# Sampling: smx beside PyTorch",
            "",
            f"`bench/peers/sampling.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
            f"smx {smx.__version__} ({smx.simd_target()}), torch {torch.__version__}, f32 logits "
            f"Normal(0, 3), T = 1, medians of {rounds} rounds, microseconds per call through "
            "Python. torch: the sort-based sampler of language-model libraries (sort, top-k "
            "mask, softmax, cumsum, top-p mask, scatter, softmax, multinomial). softmax: one "
            "smx.softmax of the same logits.",
            "",
            f"Lowest speedup over torch: {worst_speedup:.1f}x (bar: 10x). Highest smx.sample / "
            f"smx.softmax: {worst_ratio:.2f} (bar: 2).",
            "",
            "| V | batch | filter | threads | smx | torch | speedup | softmax | smx / softmax |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(
                f"| {r['vocab']} | {r['batch']} | {r['filter']} | {r['threads']} | "
                f"{r['smx_s'] * 1e6:.1f} | {r['torch_s'] * 1e6:.1f} | {r['speedup']:.1f}x | "
                f"{r['softmax_s'] * 1e6:.1f} | {r['vs_softmax']:.2f} |")
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
