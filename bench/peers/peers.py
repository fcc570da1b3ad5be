"""smx's Python package beside PyTorch, NumPy, SciPy, ONNX Runtime and JAX, in one process.

    python bench/peers/peers.py [--shapes 4096x1000,...] [--threads 1,2] [--rounds N]
                                [--min-batch-ms MS] [--no-accuracy] [--skip IMPL,...]

Prints one JSON object per line ("kind": "info", "timing", "accuracy" or "skipped").

Timing: for each shape and thread count every implementation, and a plain copy (numpy.copyto into
a preallocated array, split over the same number of threads), is warmed up and given a batch
size (calls lasting at least --min-batch-ms); then --rounds rounds each run one batch of each, the
order rotated by one per round; the figure is the median of the rounds. `ratio` divides it by the
copy's median of the same group. Each peer runs both ways where it can: "out" writes into a
preallocated array, "alloc" returns a fresh one per call (page faults included: users pay them).
Single-threaded peers (NumPy, SciPy) are measured at 1 thread and repeated, marked, at higher
counts, with the ratio to the copy they were timed beside.

JAX fixes its thread count when the process starts (XLA_FLAGS), so it runs in a subprocess of
this script per thread count (--jax-worker), which times its own copy.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden  # noqa: E402

SHAPES = ["4096x1000", "512x32000", "16x128256", "32768x128", "1x16777216", "2048x8192"]
OPS = ("softmax", "log_softmax")
SETTLE_SECONDS = 0.005


def emit(**record) -> None:
    print(json.dumps(record), flush=True)


def skipped(impl: str, why: str) -> None:
    emit(kind="skipped", process="python", impl=impl, reason=why)
    print(f"peers.py: {impl} skipped: {why}", file=sys.stderr, flush=True)


# --- the copy ------------------------------------------------------------------------------


class Copier:
    """A copy of x into y on `threads` threads: torch's copy_ (an OpenMP copy in C++, threads from
    torch.set_num_threads) where torch is installed, else numpy.copyto in one slice per thread on
    a thread pool. The pool's Python hand-offs cost: 0.135 ns/element at 2 threads against
    copy_'s 0.052 (16x128256 floats, 1.5 per element), which made every 2-thread x copy of this
    process read 2-3x too low; `name` says which copy ran."""

    def __init__(self, threads: int):
        self.threads = threads
        self.pool = None
        try:
            import torch

            self.torch = torch
            torch.set_num_threads(threads)
        except ImportError:
            self.torch = None
            self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.name = "torch.Tensor.copy_" if self.torch is not None else "numpy.copyto"

    def make(self, x: np.ndarray, y: np.ndarray):
        if self.torch is not None:
            tx, ty = self.torch.from_numpy(x), self.torch.from_numpy(y)
            return lambda: ty.copy_(tx)
        if self.pool is None:
            return lambda: np.copyto(y, x)
        flat_x, flat_y = x.reshape(-1), y.reshape(-1)
        step = -(-flat_x.size // self.threads)
        step = -(-step // 16) * 16  # whole cache lines
        slices = [slice(i, i + step) for i in range(0, flat_x.size, step)]

        def run():
            for future in [self.pool.submit(np.copyto, flat_y[s], flat_x[s]) for s in slices]:
                future.result()

        return run


# --- the peers -----------------------------------------------------------------------------
# Each peer: name, whether it takes a temperature, whether it is single-threaded, a thread
# setter, and make(op, variant, x, y, scratch) -> a callable or None (not supported).


@dataclass
class Peer:
    name: str
    version: str
    make: object  # (op, variant, x, y, scratch) -> callable | None
    set_threads: object = None  # (n) -> None
    single_threaded: bool = False
    note: str = ""
    # For accuracy: (op) -> function(z[, T]) -> array
    reference: object = None
    takes_temperature: bool = False


def numpy_peer() -> Peer:
    def make(op, variant, x, y, scratch):
        if variant == "alloc":
            if op == "softmax":

                def run():
                    e = np.exp(x - x.max(axis=-1, keepdims=True))
                    return e / e.sum(axis=-1, keepdims=True)

            else:

                def run():
                    d = x - x.max(axis=-1, keepdims=True)
                    return d - np.log(np.exp(d).sum(axis=-1, keepdims=True))

            return run
        rows = x.shape[0]
        m = np.empty((rows, 1), np.float32)
        s = np.empty((rows, 1), np.float32)
        if op == "softmax":

            def run():
                np.max(x, axis=-1, keepdims=True, out=m)
                np.subtract(x, m, out=y)
                np.exp(y, out=y)
                np.sum(y, axis=-1, keepdims=True, out=s)
                np.divide(y, s, out=y)
                return y

        else:

            def run():
                np.max(x, axis=-1, keepdims=True, out=m)
                np.subtract(x, m, out=y)
                np.exp(y, out=scratch)
                np.sum(scratch, axis=-1, keepdims=True, out=s)
                np.log(s, out=s)
                np.subtract(y, s, out=y)
                return y

        return run

    def reference(op):
        def run(z):
            y, scratch = np.empty_like(z), np.empty_like(z)
            with np.errstate(all="ignore"):
                return make(op, "out", z, y, scratch)()

        return run

    return Peer(
        "numpy",
        np.__version__,
        make,
        single_threaded=True,
        note="x - max, exp, / sum",
        reference=reference,
    )


def scipy_peer() -> Peer | None:
    try:
        import scipy
        import scipy.special as special
    except ImportError as e:
        skipped("scipy", f"import failed: {e}")
        return None

    def make(op, variant, x, y, scratch):
        if variant != "alloc":
            return None
        function = special.softmax if op == "softmax" else special.log_softmax
        return lambda: function(x, axis=-1)

    def reference(op):
        function = special.softmax if op == "softmax" else special.log_softmax
        return lambda z: function(z, axis=-1)

    return Peer("scipy", scipy.__version__, make, single_threaded=True, reference=reference)


def torch_peer() -> Peer | None:
    try:
        import torch
    except ImportError as e:
        skipped("torch", f"import failed: {e}")
        return None

    def make(op, variant, x, y, scratch):
        function = torch.softmax if op == "softmax" else torch.log_softmax
        xt = torch.from_numpy(x)
        if variant == "alloc":
            return lambda: function(xt, -1)
        yt = torch.from_numpy(y)
        return lambda: function(xt, -1, out=yt)

    def reference(op):
        function = torch.softmax if op == "softmax" else torch.log_softmax
        return lambda z: function(torch.from_numpy(np.ascontiguousarray(z)), -1).numpy()

    return Peer(
        "torch",
        torch.__version__,
        make,
        set_threads=torch.set_num_threads,
        reference=reference,
    )


def smx_peer() -> Peer | None:
    try:
        import smx
    except ImportError as e:
        skipped("smx", f"`import smx` failed ({e}): install the package (bench/peers/setup.sh)")
        return None
    missing = [n for n in ("softmax", "log_softmax", "set_num_threads") if not hasattr(smx, n)]
    if missing:
        skipped("smx", f"the smx module lacks {', '.join(missing)}")
        return None

    def make(op, variant, x, y, scratch):
        function = smx.softmax if op == "softmax" else smx.log_softmax
        if variant == "alloc":
            return lambda: function(x, dim=-1)
        return lambda: function(x, dim=-1, out=y)

    def reference(op):
        function = smx.softmax if op == "softmax" else smx.log_softmax

        def run(z, temperature):
            try:
                return function(z, dim=-1, temperature=temperature)
            except TypeError:  # a package without temperature=: the peers' z/T input
                with np.errstate(all="ignore"):
                    return function((z.astype(np.float64) / temperature).astype(np.float32), dim=-1)

        return run

    version = getattr(smx, "__version__", "?")
    return Peer(
        "smx",
        version,
        make,
        set_threads=smx.set_num_threads,
        reference=reference,
        takes_temperature=True,
    )


def onnxruntime_peer() -> Peer | None:
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError as e:
        skipped("onnxruntime", f"import failed: {e}")
        return None

    def model_bytes(op):
        kind = "Softmax" if op == "softmax" else "LogSoftmax"
        node = helper.make_node(kind, ["x"], ["y"], axis=-1)
        shape = ["rows", "cols"]
        graph = helper.make_graph(
            [node],
            op,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = min(model.ir_version, 10)
        return model.SerializeToString()

    sessions: dict[tuple[str, int], object] = {}
    state = {"threads": 1}

    def session(op):
        key = (op, state["threads"])
        if key not in sessions:
            options = ort.SessionOptions()
            options.intra_op_num_threads = state["threads"]
            options.inter_op_num_threads = 1
            # Spinning pool threads would steal the core from whatever runs next in the
            # interleaved rounds (2 shared cores); ORT's own docs suggest this for shared hosts.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            sessions[key] = ort.InferenceSession(
                model_bytes(op), options, providers=["CPUExecutionProvider"]
            )
        return sessions[key]

    def set_threads(n):
        state["threads"] = n

    def make(op, variant, x, y, scratch):
        sess = session(op)
        if variant == "alloc":
            return lambda: sess.run(None, {"x": x})[0]
        binding = sess.io_binding()
        binding.bind_cpu_input("x", x)
        binding.bind_output("y", "cpu", 0, np.float32, list(y.shape), y.ctypes.data)
        return lambda: sess.run_with_iobinding(binding)

    def reference(op):
        return lambda z: session(op).run(None, {"x": np.ascontiguousarray(z)})[0]

    return Peer(
        "onnxruntime",
        f"{ort.__version__} (onnx {onnx.__version__})",
        make,
        set_threads=set_threads,
        note="pool spinning off",
        reference=reference,
    )


def jax_peer() -> Peer | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        skipped("jax", f"import failed: {e}")
        return None
    jitted = {
        "softmax": jax.jit(lambda v: jax.nn.softmax(v, axis=-1)),
        "log_softmax": jax.jit(lambda v: jax.nn.log_softmax(v, axis=-1)),
    }

    def make(op, variant, x, y, scratch):
        if variant != "alloc":
            return None  # JAX arrays are immutable: every call returns a new one
        xj = jax.device_put(x)
        function = jitted[op]
        return lambda: function(xj).block_until_ready()

    def reference(op):
        return lambda z: np.asarray(jitted[op](jnp.asarray(z)))

    return Peer("jax", jax.__version__, make, note="jit, CPU", reference=reference)


# --- the harness ---------------------------------------------------------------------------


@dataclass
class Entry:
    impl: str
    op: str
    variant: str
    run: object
    note: str = ""
    calls: int = 1
    seconds: list[float] = field(default_factory=list)  # per call, one per round


def seconds_of(run, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def time_group(entries: list[Entry], rounds: int, min_batch: float) -> None:
    for e in entries:
        e.run()  # warm-up: caches, thread pools, JIT
        e.calls = max(1, math.ceil(min_batch / max(seconds_of(e.run, 1), 1e-9)))
    for r in range(rounds):
        for k in range(len(entries)):
            e = entries[(k + r) % len(entries)]
            time.sleep(SETTLE_SECONDS)  # untimed: the last peer's spinning pool threads park
            e.seconds.append(seconds_of(e.run, e.calls))


def logits(rows: int, cols: int) -> np.ndarray:
    """Normal(0, 3) float32 logits, like `smx bench`."""
    return (np.random.default_rng(20240611).standard_normal((rows, cols), np.float32) * 3).astype(
        np.float32
    )


def benchmark(peers: list[Peer], args, process: str) -> None:
    for shape in args.shapes:
        rows, cols = (int(v) for v in shape.split("x"))
        x = logits(rows, cols)
        y = np.zeros_like(x)
        scratch = np.zeros_like(x)
        first_threads: dict[tuple[str, str, str], Entry] = {}
        first_copy_ns = 0.0
        for threads in args.threads:
            copier = Copier(threads)
            entries = [Entry("copy", "copy", "out", copier.make(x, y), copier.name)]
            for peer in peers:
                if peer.single_threaded and threads != args.threads[0]:
                    continue
                if peer.set_threads:
                    peer.set_threads(threads)
                for op in OPS:
                    for variant in ("out", "alloc"):
                        run = peer.make(op, variant, x, y, scratch)
                        if run is not None:
                            entries.append(Entry(peer.name, op, variant, run, peer.note))
            with np.errstate(all="ignore"):
                time_group(entries, args.rounds, args.min_batch_ms * 1e-3)
            if copier.pool:
                copier.pool.shutdown()
            n = rows * cols
            copy_ns = float(np.median(entries[0].seconds)) * 1e9 / n

            if threads == args.threads[0]:
                first_copy_ns = copy_ns

            def report(e: Entry, single: bool) -> None:
                ns = float(np.median(e.seconds)) * 1e9 / n
                copy = first_copy_ns if single else copy_ns  # the copy it was timed beside
                emit(
                    kind="timing",
                    process=process,
                    impl=e.impl,
                    op=e.op,
                    variant=e.variant,
                    shape=shape,
                    threads=threads,
                    ns_per_element=ns,
                    copy_ns_per_element=copy,
                    ratio=ns / copy,
                    rounds=args.rounds,
                    single_threaded=single,
                    note=("single-threaded: the 1-thread figure" if single else e.note),
                )

            for e in entries:
                report(e, False)
                first_threads.setdefault((e.impl, e.op, e.variant), e)
            single_names = {p.name for p in peers if p.single_threaded}
            if threads != args.threads[0]:
                for (impl, _, _), e in first_threads.items():
                    if impl in single_names:
                        report(e, True)
        del x, y, scratch


def accuracy(peers: list[Peer], process: str) -> None:
    try:
        cases = golden.load_cases()
    except OSError as e:
        skipped("accuracy", f"no golden cases ({e}); set SMX_GOLDEN_DIR")
        return
    for peer in peers:
        if peer.set_threads:
            peer.set_threads(1)
        for op in OPS:
            summary = golden.evaluate(
                peer.reference(op), op, cases, takes_temperature=peer.takes_temperature
            )
            emit(
                kind="accuracy",
                process=process,
                impl=peer.name,
                op=op,
                input=("z with T" if peer.takes_temperature else "z/T (f64, rounded to f32)"),
                **summary.as_dict(),
            )


def jax_flags(threads: int) -> str:
    if threads == 1:
        return "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"


def run_jax_workers(args) -> None:
    for i, threads in enumerate(args.threads):
        env = dict(os.environ, XLA_FLAGS=jax_flags(threads), JAX_PLATFORMS="cpu")
        command = [sys.executable, __file__, "--jax-worker", "--threads", str(threads)]
        command += ["--shapes", ",".join(args.shapes), "--rounds", str(args.rounds)]
        command += ["--min-batch-ms", str(args.min_batch_ms)]
        if args.no_accuracy or i > 0:
            command.append("--no-accuracy")
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
        sys.stdout.write(done.stdout)
        sys.stdout.flush()
        if done.returncode != 0:
            skipped("jax", f"the JAX worker for {threads} thread(s) exited with {done.returncode}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--min-batch-ms", type=float, default=50.0)
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--skip", default="", help="peers to leave out, comma-separated")
    parser.add_argument("--jax-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.shapes = [s for s in args.shapes.split(",") if s]
    args.threads = [int(t) for t in args.threads.split(",")]
    skip = set(filter(None, args.skip.split(",")))

    if args.jax_worker:
        peer = jax_peer()
        if peer is None:
            return 1
        process = "python-jax"
        emit(kind="info", process=process, key="jax", value=peer.version)
        emit(kind="info", process=process, key=f"XLA_FLAGS_{args.threads[0]}",
             value=os.environ.get("XLA_FLAGS", ""))
        if not args.no_accuracy:
            accuracy([peer], process)
        benchmark([peer], args, process)
        return 0

    emit(kind="info", process="python", key="python", value=sys.version.split()[0])
    emit(kind="info", process="python", key="numpy", value=np.__version__)
    makers = [smx_peer, torch_peer, numpy_peer, scipy_peer, onnxruntime_peer]
    peers = []
    for maker in makers:
        name = maker.__name__.removesuffix("_peer")
        if name in skip:
            continue
        peer = maker()
        if peer is not None:
            peers.append(peer)
            emit(kind="info", process="python", key=peer.name, value=peer.version)
    if not args.no_accuracy:
        accuracy(peers, "python")
    benchmark(peers, args, "python")
    if "jax" not in skip:
        run_jax_workers(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
