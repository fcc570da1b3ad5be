#!/usr/bin/env python3
"""Runs the golden cases of softmax, log_softmax, logsumexp, cross_entropy, cross_entropy_probs and
attention through the smx command line.

  golden_cli.py SMX GOLDEN_DIR WORK_DIR

Each case goes through two paths: .npy files (-i in.npy -o out.npy; cross-entropy also writes its
gradient with --grad-out), compared with the expected values under the case's tolerance (FORMAT.md,
section 2); and the printed result, which must read back as exactly the same numbers as the .npy
result (the printed digits round-trip). softmax and its kin read that text from stdin.
Prints one line per failure and last "golden: P passed, F failed, S skipped".
"""
import json
import math
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import npy_util  # noqa: E402

CLI_NAMES = {"softmax": "softmax", "log_softmax": "log-softmax", "logsumexp": "logsumexp"}
LOSS_OPS = ("cross_entropy", "cross_entropy_probs")


def number(value):
    return float(value)  # "inf", "-inf", "nan" or a float


def ordered(value, dtype):
    """An integer monotonic in value; +0 and -0 both map to 0."""
    if dtype == "f32":
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
        return -(bits & 0x7FFFFFFF) if bits >> 31 else bits
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    return -(bits & 0x7FFFFFFFFFFFFFFF) if bits >> 63 else bits


def to_f32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def special_match(got, want):
    """None when both are finite; else whether they match (NaN with NaN, infinities equal)."""
    if math.isnan(want) or math.isinf(want):
        return (math.isnan(got) and math.isnan(want)) or got == want
    if math.isnan(got) or math.isinf(got):
        return False
    return None


def element_ok(got, want, dtype, tol):
    if dtype == "f32":
        want = to_f32(want)
    special = special_match(got, want)
    if special is not None:
        return special
    if dtype == "f32" and abs(want) < 2.0 ** -126 and abs(got - want) <= tol.get("abs", 0):
        return True
    return abs(ordered(got, dtype) - ordered(want, dtype)) <= tol["value"]


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=120)


def check_case(smx, case, work):
    """Returns None if the case passes, else the reason."""
    z = case["inputs"]["z"]
    dtype = case["dtype"]
    values = [number(v) for v in z["data"]]
    option = []
    if "T" in case["params"]:
        option = ["-T", str(case["params"]["T"])]
    npy_in, npy_out = os.path.join(work, "g_in.npy"), os.path.join(work, "g_out.npy")
    with open(npy_in, "wb") as f:
        f.write(npy_util.npy_bytes("f4" if dtype == "f32" else "f8", z["shape"], values))
    if os.path.exists(npy_out):
        os.remove(npy_out)
    result = run([smx, CLI_NAMES[case["op"]], *option, "-i", npy_in, "-o", npy_out])
    if result.returncode != 0:
        return "exit %d: %s" % (result.returncode, result.stderr.strip())
    with open(npy_out, "rb") as f:
        data = f.read()
    length = struct.unpack("<H", data[8:10])[0]
    header = eval(data[10:10 + length].decode("latin1"))
    expected = case["expected"]["out"]
    if list(header["shape"]) != expected["shape"]:
        return "shape %s, expected %s" % (header["shape"], expected["shape"])
    fmt = "f" if dtype == "f32" else "d"
    got = struct.unpack("<%d%s" % (len(expected["data"]), fmt), data[10 + length:])
    for i, (g, w) in enumerate(zip(got, expected["data"])):
        if not element_ok(g, number(w), dtype, case["tol"]):
            return "element %d: got %r, expected %r" % (i, g, number(w))

    # The text path: the same rows as text, the printed result must read back bit for bit.
    rows, k = z["shape"]
    lines = "".join(" ".join(repr(v) for v in values[r * k:(r + 1) * k]) + "\n" for r in range(rows))
    result = run([smx, CLI_NAMES[case["op"]], *option, "--dtype", dtype, "-i", "-"], lines)
    if result.returncode != 0:
        return "text path: exit %d: %s" % (result.returncode, result.stderr.strip())
    printed = [float(t) for t in result.stdout.split()]
    if len(printed) != len(got) or any(
            struct.pack("<" + fmt, p) != struct.pack("<" + fmt, g) and not (
                math.isnan(p) and math.isnan(g)) for p, g in zip(printed, got)):
        return "text path: printed %s, .npy holds %s" % (result.stdout.split()[:4], got[:4])
    return None


def rel_element_ok(got, want, dtype, tol):
    """FORMAT.md's "rel" rule: |got - want| <= max(abs, value * |want|), specials exactly."""
    if dtype == "f32":
        want = to_f32(want)
    special = special_match(got, want)
    if special is not None:
        return special
    return abs(got - want) <= max(tol["abs"], tol["value"] * abs(want))


def write_npy(path, dtype, tensor):
    with open(path, "wb") as f:
        f.write(npy_util.npy_bytes(dtype, tensor["shape"], [
            int(v) if dtype[0] == "i" else number(v) for v in tensor["data"]]))


def check_loss_case(smx, case, work):
    """cross_entropy and cross_entropy_probs: the loss and the gradient. None if the case passes."""
    dtype, params, inputs = case["dtype"], case["params"], case["inputs"]
    float_type = "f4" if dtype == "f32" else "f8"
    paths = {name: os.path.join(work, "g_" + name + ".npy")
             for name in ("logits", "target", "weight", "loss", "grad")}
    write_npy(paths["logits"], float_type, inputs["logits"])
    write_npy(paths["target"], "i8" if case["op"] == "cross_entropy" else float_type,
              inputs["target"])
    args = [smx, "cross-entropy", "-i", paths["logits"], "--target", paths["target"],
            "--reduction", params["reduction"]]
    if "weight" in params:
        write_npy(paths["weight"], float_type, {"shape": [len(params["weight"])],
                                                "data": params["weight"]})
        args += ["--weight", paths["weight"]]
    if "ignore_index" in params:
        args += ["--ignore-index", str(params["ignore_index"])]
    if "label_smoothing" in params:
        args += ["--label-smoothing", repr(number(params["label_smoothing"]))]
    for name in ("loss", "grad"):
        if os.path.exists(paths[name]):
            os.remove(paths[name])
    result = run(args + ["-o", paths["loss"], "--grad-out", paths["grad"]])
    if result.returncode != 0:
        return "exit %d: %s" % (result.returncode, result.stderr.strip())
    outputs = {}
    for name, key in (("loss", "loss"), ("grad", "grad_logits")):
        descr, shape, got = npy_util.read_npy(paths[name])
        expected = case["expected"][key]
        if descr != "<" + float_type:
            return "%s dtype %s, expected <%s" % (name, descr, float_type)
        if shape != expected["shape"]:
            return "%s shape %s, expected %s" % (name, shape, expected["shape"])
        for i, (g, w) in enumerate(zip(got, expected["data"])):
            if not rel_element_ok(g, number(w), dtype, case["tol"]):
                return "%s element %d: got %r, expected %r" % (name, i, g, number(w))
        outputs[name] = got

    # The printed loss reads back as exactly the .npy one.
    result = run(args)
    if result.returncode != 0:
        return "printed: exit %d: %s" % (result.returncode, result.stderr.strip())
    fmt = "<" + npy_util.FORMATS[float_type]
    printed = [float(t) for t in result.stdout.split()]
    if len(printed) != len(outputs["loss"]) or any(
            struct.pack(fmt, p) != struct.pack(fmt, g) and not (math.isnan(p) and math.isnan(g))
            for p, g in zip(printed, outputs["loss"])):
        return "printed %s, .npy holds %s" % (result.stdout.split()[:4], outputs["loss"][:4])
    return None


def check_attention_case(smx, case, work):
    """attention: out and lse through .npy files (causal: lower-right, as FORMAT.md says)."""
    dtype, params = case["dtype"], case["params"]
    float_type = "f4" if dtype == "f32" else "f8"
    paths = {name: os.path.join(work, "g_" + name + ".npy") for name in ("Q", "K", "V", "O", "lse")}
    for name in ("Q", "K", "V"):
        write_npy(paths[name], float_type, case["inputs"][name])
    args = [smx, "attention", "-q", paths["Q"], "-k", paths["K"], "-v", paths["V"],
            "-o", paths["O"], "--lse", paths["lse"]]
    if params.get("causal"):
        args += ["--causal", "--causal-alignment", "lower_right"]
    if "scale" in params:
        args += ["--scale", repr(number(params["scale"]))]
    for name in ("O", "lse"):
        if os.path.exists(paths[name]):
            os.remove(paths[name])
    result = run(args)
    if result.returncode != 0:
        return "exit %d: %s" % (result.returncode, result.stderr.strip())
    for name in ("O", "lse"):
        descr, shape, got = npy_util.read_npy(paths[name])
        expected = case["expected"][name]
        if descr != "<" + float_type or shape != expected["shape"]:
            return "%s is %s %s, expected <%s %s" % (name, descr, shape, float_type,
                                                     expected["shape"])
        for i, (g, w) in enumerate(zip(got, expected["data"])):
            if not rel_element_ok(g, number(w), dtype, case["tol"]):
                return "%s element %d: got %r, expected %r" % (name, i, g, number(w))
    return None


def main():
    smx, golden_dir, work = sys.argv[1:4]
    passed = failed = skipped = 0
    with open(os.path.join(golden_dir, "public.jsonl")) as f:
        cases = [json.loads(line) for line in f if line.strip()]
    for case in cases:
        if case["op"] == "attention":
            check = check_attention_case
        elif case["op"] in CLI_NAMES or case["op"] in LOSS_OPS:
            first_input = "z" if case["op"] in CLI_NAMES else "logits"
            if 0 in case["inputs"][first_input]["shape"]:
                skipped += 1  # the command line rejects empty input by design
                continue
            check = check_case if case["op"] in CLI_NAMES else check_loss_case
        else:
            continue
        reason = check(smx, case, work)
        if reason is None:
            passed += 1
        else:
            failed += 1
            print("FAIL golden %s: %s" % (case["id"], reason))
    print("golden: %d passed, %d failed, %d skipped" % (passed, failed, skipped))


if __name__ == "__main__":
    main()
