#!/usr/bin/env python3
"""A plain reference of softmax cross-entropy for the CLI tests (standard library only), written
from PyTorch's definition of F.cross_entropy, independently of smx:

  loss_ref.py LOGITS.npy TARGET.npy [--weight W.npy] [--ignore-index N] [--label-smoothing E]
              [--reduction none|sum|mean]

Prints two lines: the loss (one value, or one per sample for none), then the gradient with
respect to the logits (row-major). The classes are axis 1 of the logits, axis 0 of a single
sample; an integer target holds class indices, a floating one probabilities.
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import npy_util  # noqa: E402


def samples(shape):
    """(classes, [(offset, stride)]) of every sample along the class axis."""
    axis = 0 if len(shape) == 1 else 1
    classes = shape[axis]
    outer = math.prod(shape[:axis])
    inner = math.prod(shape[axis + 1:])
    return classes, [(o * classes * inner + i, inner) for o in range(outer) for i in range(inner)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("logits")
    parser.add_argument("target")
    parser.add_argument("--weight")
    parser.add_argument("--ignore-index", type=int, default=-100)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--reduction", default="mean")
    args = parser.parse_args()

    _, shape, z = npy_util.read_npy(args.logits)
    target_descr, _, target = npy_util.read_npy(args.target)
    indices = target_descr[1] in "iu"
    classes, rows = samples(shape)
    w = npy_util.read_npy(args.weight)[2] if args.weight else [1.0] * classes
    eps = args.label_smoothing

    losses, grad, divisor = [], [0.0] * len(z), 0.0
    for n, (offset, stride) in enumerate(rows):
        row = [z[offset + c * stride] for c in range(classes)]
        if indices:
            t = target[n]
            if t == args.ignore_index:
                losses.append(0.0)
                continue
            y = [(1 - eps) * (c == t) + eps / classes for c in range(classes)]
            divisor += w[t]
        else:
            y = [(1 - eps) * target[offset + c * stride] + eps / classes for c in range(classes)]
            divisor += 1
        m = max(row)
        lse = m + math.log(math.fsum(math.exp(v - m) for v in row))
        log_p = [v - lse for v in row]
        u = [w[c] * y[c] for c in range(classes)]
        losses.append(-math.fsum(u[c] * log_p[c] for c in range(classes) if u[c] != 0))
        total = math.fsum(u)
        for c in range(classes):
            grad[offset + c * stride] = total * math.exp(log_p[c]) - u[c]

    if args.reduction == "none":
        loss = losses
    elif args.reduction == "sum":
        loss = [math.fsum(losses)]
    else:
        loss = [math.fsum(losses) / divisor]
        grad = [g / divisor for g in grad]
    print(" ".join(repr(v) for v in loss))
    print(" ".join(repr(v) for v in grad))


if __name__ == "__main__":
    main()
