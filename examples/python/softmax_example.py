"""The Python API of smx: softmax of one row, log_softmax with a temperature over a batch,
logsumexp over an axis, writing into a preallocated output, and the error path. Exits 0 only if
every result is the expected one.

    pip install .            # from the repository root
    python examples/python/softmax_example.py
"""

import sys

import numpy as np

import smx


def main() -> int:
    ok = True
    print(f"smx {smx.__version__} ({smx.simd_target()}, {smx.get_num_threads()} threads)")

    # One row: softmax([2, 1, 0.5]) ~ [0.6285, 0.2312, 0.1402].
    y = smx.softmax(np.array([2.0, 1.0, 0.5], dtype=np.float32))
    print("softmax([2, 1, 0.5]) =", y)
    ok &= np.allclose(y, [0.6285317192117624, 0.23122389762214907, 0.14024438316608848], rtol=1e-6)

    # A batch of logits at temperature 0.5: z / 0.5 - logsumexp(z / 0.5) per row.
    z = np.array([[2.0, 1.0, 0.5], [-1.0, 0.0, 1.0]])
    log_p = smx.log_softmax(z, dim=-1, temperature=0.5)
    lse = smx.logsumexp(z / 0.5, dim=-1, keepdim=True)
    print("log_softmax(z, T=0.5) =\n", log_p)
    ok &= np.allclose(log_p, z / 0.5 - lse, rtol=1e-15, atol=1e-15)

    # Into a preallocated output (no allocation per call), along the first axis.
    out = np.empty_like(z)
    smx.softmax(z, dim=0, out=out)
    ok &= np.allclose(out.sum(axis=0), 1.0, rtol=1e-15)

    # Large logits do not overflow: softmax([1000, 1001, 1002]) = softmax([0, 1, 2]).
    big = smx.softmax(np.array([1000.0, 1001.0, 1002.0]))
    ok &= np.allclose(big, smx.softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-15)

    # Bad input raises the exception a user expects, naming the bad value.
    try:
        smx.softmax(z, temperature=-1.0)
        ok = False
    except ValueError as e:
        print("as expected:", e)

    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
