#!/usr/bin/env python3
"""Regenerates the outputs in docs/tutorial.md, its pictures and its example files, or checks them.

The tutorial's code blocks are run, and what they print is written back into the document:

  ```console                      each "$ " line is a command, run from the repository root with
  $ smx softmax 2 1 0.5           the smx tool first on PATH; the lines after it, up to the next
  0.6285317192117624 ...          "$ " line, are its output
  ```

  ```python                       run in one namespace for the whole document, in order (needs the
  print(smx.softmax(...))         smx Python package); the ```text block right after it holds
  ```                             what it printed (a block without one prints nothing)
  ```text
  ...
  ```

  <!-- picture: smx plot temperature 3 1 0 -T 0.5,1,2,5 -o docs/img/temperature.svg -->
                                  the command that draws a committed picture

and docs/examples/*.npy, the inputs of the file commands, are written from EXAMPLES below.

  docs/regenerate.py --smx build/tools/smx            rewrite the document, pictures and examples
  docs/regenerate.py --smx build/tools/smx --check    exit 1, listing what is stale, if anything is
  docs/regenerate.py --check --only python            the Python blocks alone (the package's tests)

In --check, numbers may differ in their last digits (relative 1e-6, or 1e-12 apart): a result's
last ulp, and the rounding noise of a sum that is 0, can vary with the SIMD target of the machine;
the text around them must match exactly.
"""
import argparse
import contextlib
import io
import os
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIAL = os.path.join(ROOT, "docs", "tutorial.md")
README = os.path.join(ROOT, "README.md")

# The example inputs of the tutorial's file commands: name -> (dtype, shape, values).
EXAMPLES = {
    # cross-entropy: 3 samples of 4 classes, their classes, and probability targets.
    "logits.npy": ("<f8", (3, 4), [2.0, 1.0, 0.5, -1.0, 0.0, 3.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]),
    "labels.npy": ("<i8", (3,), [0, 1, 3]),
    # attention: 2 queries, 4 keys of size 2, values of size 2; the first query's largest score
    # comes in the second block of keys, so that its explanation rescales what it has summed.
    "q.npy": ("<f8", (2, 2), [1.0, 0.0, 0.5, 0.5]),
    "k.npy": ("<f8", (4, 2), [0.0, 1.0, -1.0, 0.0, 1.0, 0.0, 1.0, 1.0]),
    "v.npy": ("<f8", (4, 2), [1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.5, 0.5]),
}

VOLATILE = re.compile(r"(largest difference|\|diff\|) [-+0-9.e]+")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)")


def npy_bytes(dtype, shape, values):
    """A .npy file (version 1.0, C order) of `values`."""
    shape_text = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    code = {"<f8": "d", "<i8": "q"}[dtype]
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") +
            struct.pack("<%d%s" % (len(values), code), *values))


def run_console(commands, smx_dir):
    """The output of each console command, run by bash from the repository root."""
    env = dict(os.environ, PATH=smx_dir + os.pathsep + os.environ.get("PATH", ""),
               COLUMNS="80", LC_ALL="C.UTF-8")
    outputs = []
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise SystemExit("docs/regenerate.py: '%s' failed (exit %d): %s"
                             % (command, done.returncode, done.stderr.strip()))
        outputs.append(done.stdout.rstrip("\n"))
    return outputs


def fenced_blocks(lines):
    """(start, end, language) of every fenced block: lines[start] opens it, lines[end] closes it."""
    blocks, start = [], None
    for number, line in enumerate(lines):
        if start is None and line.startswith("```") and len(line) > 3:
            start = number
        elif start is not None and line == "```":
            blocks.append((start, number, lines[start][3:]))
            start = None
    return blocks


def rewrite_blocks(text, console=None, python=None):
    """The document with its console blocks' outputs from console(commands) -> outputs, and the
    text block after each python block from python(code) -> printed (None: left as they are)."""
    lines = text.split("\n")
    blocks = fenced_blocks(lines)
    out, at = [], 0
    for index, (start, end, language) in enumerate(blocks):
        if start < at:  # a text block already rewritten with its python block
            continue
        out.extend(lines[at:start + 1])
        body = lines[start + 1:end]
        at = end
        if language == "console" and console:
            commands = [line[2:] for line in body if line.startswith("$ ")]
            body = []
            for command, output in zip(commands, console(commands)):
                body += ["$ " + command] + ([output] if output else [])
        elif language == "python" and python:
            printed = python("\n".join(body))
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if following and following[2] == "text" and following[0] == end + 1:
                out.extend(body + ["```", "```text"])
                body = printed.split("\n") if printed else []
                at = following[1]
        out.extend(body)
    out.extend(lines[at:])
    return "\n".join(out)


def python_runner():
    """Runs the tutorial's python blocks in order in one namespace, from the repository root."""
    namespace = {"__name__": "__tutorial__"}

    def run(code):
        stdout = io.StringIO()
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            with contextlib.redirect_stdout(stdout):
                exec(compile(code, "docs/tutorial.md", "exec"), namespace)
        finally:
            os.chdir(cwd)
        return stdout.getvalue().rstrip("\n")
    return run


def picture_commands(*texts):
    """The picture commands of the documents, in order, without repeats."""
    commands = []
    for text in texts:
        for command in re.findall(r"<!-- picture: (.*?) -->", text):
            if command not in commands:
                commands.append(command)
    return commands


def same_but_digits(a, b):
    """Whether a and b match, their numbers to a relative 1e-6 (or within 1e-12 of each other:
    rounding noise, such as a sum of 0 printed as -1e-20)."""
    # How far the textbook result, or a check, is from smx's depends on smx's last bits.
    a, b = (VOLATILE.sub(r"\1", text) for text in (a, b))
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        fx, fy = float(x), float(y)
        if abs(fx - fy) > max(1e-6 * max(abs(fx), abs(fy)), 1e-12):
            return False
    return True


def first_difference(a, b):
    for number, (x, y) in enumerate(zip(a.split("\n"), b.split("\n")), 1):
        if not same_but_digits(x, y):
            return "line %d:\n  document: %s\n  now:      %s" % (number, x, y)
    return "the lengths differ"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smx", help="the smx tool (console blocks and pictures)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--only", choices=["console", "python"],
                        help="one kind of block (console includes the pictures and examples)")
    args = parser.parse_args()
    if args.only != "python" and not args.smx:
        parser.error("--smx is needed for the console blocks and the pictures")
    with open(TUTORIAL, encoding="utf-8") as f:
        document = f.read()
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    stale = []

    def compare_or_write(path, old, new, binary=False):
        if old == new or (not binary and args.check and same_but_digits(old, new)):
            return
        if args.check:
            where = "" if binary else ": " + first_difference(old, new)
            stale.append(os.path.relpath(path, ROOT) + where)
        else:
            with open(path, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
                f.write(new)

    new_document = document
    if args.only != "python":
        for name, (dtype, shape, values) in EXAMPLES.items():
            path = os.path.join(ROOT, "docs", "examples", name)
            old = open(path, "rb").read() if os.path.exists(path) else b""
            compare_or_write(path, old, npy_bytes(dtype, shape, values), binary=True)
        smx_dir = os.path.dirname(os.path.abspath(args.smx))
        new_document = rewrite_blocks(new_document,
                                      console=lambda commands: run_console(commands, smx_dir))
        with tempfile.TemporaryDirectory() as scratch:
            for command in picture_commands(document, readme):
                target = command.split(" -o ")[1].split()[0]
                drawn = os.path.join(scratch, os.path.basename(target))
                run_console([command.replace(" -o " + target, " -o " + drawn)], smx_dir)
                path = os.path.join(ROOT, target)
                old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
                compare_or_write(path, old, open(drawn, encoding="utf-8").read())
    if args.only != "console":
        new_document = rewrite_blocks(new_document, python=python_runner())
    compare_or_write(TUTORIAL, document, new_document)
    if stale:
        print("stale (run docs/regenerate.py --smx build/tools/smx):\n" + "\n".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
