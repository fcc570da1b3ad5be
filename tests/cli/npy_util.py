#!/usr/bin/env python3
"""Small .npy and number helpers for cli_test.sh, standard library only (numpy may be absent).

  npy_util.py write PATH DTYPE SHAPE VALUES...   DTYPE f2|f4|f8, or i1|i2|i4|i8|u1|u2|u4|u8 for
                                                 integers; SHAPE like 2x3 ("" for a scalar)
  npy_util.py read PATH                          prints "<descr> <shape>" then the values
  npy_util.py bad PATH KIND                      writes a broken .npy of the given KIND
  npy_util.py close TOLERANCE EXPECTED...        reads numbers on stdin (spaces, commas or
                                                 newlines between); exit 0 if all are close
  npy_util.py shortest f2|f4|f8                  exit 0 if every number on stdin (spaces, commas
                                                 or newlines between) has the fewest significant
                                                 digits that read back as the same value of DTYPE
"""
import math
import re
import signal
import struct
import sys

FORMATS = {"f2": "e", "f4": "f", "f8": "d", "i1": "b", "i2": "h", "i4": "i", "i8": "q",
           "u1": "B", "u2": "H", "u4": "I", "u8": "Q"}


def header_bytes(header, version=(1, 0)):
    """The magic, version, header length and the header padded as NumPy pads it."""
    length_size = 2 if version[0] == 1 else 4
    unpadded = 6 + 2 + length_size + len(header) + 1
    header = header + " " * ((64 - unpadded % 64) % 64) + "\n"
    length = struct.pack("<H" if length_size == 2 else "<I", len(header))
    return b"\x93NUMPY" + bytes(version) + length + header.encode("latin1")


def shape_tuple(shape):
    if len(shape) == 1:
        return "(%d,)" % shape[0]
    return "(" + ", ".join(str(s) for s in shape) + ")"


def npy_bytes(dtype, shape, values, descr=None, fortran=False, version=(1, 0)):
    descr = descr or ("|" if dtype[1:] == "1" else "<") + dtype  # NumPy's spelling: '|u1', '<i8' 
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_tuple(shape))
    data = struct.pack("<%d%s" % (len(values), FORMATS[dtype]), *values)
    return header_bytes(header, version) + data


def parse_shape(text):
    return [int(s) for s in text.split("x")] if text else []


def parse_value(text):
    return float(text)  # accepts nan, inf, -inf


def cmd_write(path, dtype, shape, *values):
    parse = int if dtype[0] in "iu" else parse_value
    with open(path, "wb") as f:
        f.write(npy_bytes(dtype, parse_shape(shape), [parse(v) for v in values]))


def read_npy(path):
    """(descr, shape, values) of a version 1.0 .npy file, as written by npy_bytes or smx."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", "bad magic"
    length = struct.unpack("<H", data[8:10])[0]
    header = eval(data[10:10 + length].decode("latin1"))  # our own test files: a dict literal
    assert (10 + length) % 64 == 0, "data not 64-byte aligned"
    descr, shape = header["descr"], list(header["shape"])
    count = math.prod(shape)
    values = struct.unpack("<%d%s" % (count, FORMATS[descr[1:]]), data[10 + length:])
    return descr, shape, list(values)


def cmd_read(path):
    descr, shape, values = read_npy(path)
    print(descr, "x".join(str(s) for s in shape) or "scalar")
    print(" ".join(repr(v) for v in values))


def cmd_bad(path, kind):
    good = npy_bytes("f4", [2, 3], [1, 2, 3, 4, 5, 6])
    f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    data = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    broken = {
        "magic": b"\x93NUMPX" + good[6:],
        "version": header_bytes(f4, (9, 0)) + data,
        "header-past-end": good[:8] + struct.pack("<H", 60000) + good[10:],
        "truncated": good[:7],
        "too-little-data": good[:-4],
        "too-much-data": good + b"\0\0\0\0",
        "int32": npy_bytes("f4", [2, 3], [1, 2, 3, 4, 5, 6], descr="<i4"),
        "big-endian": npy_bytes("f4", [2, 3], [1, 2, 3, 4, 5, 6], descr=">f4"),
        "fortran": npy_bytes("f4", [2, 3], [1, 2, 3, 4, 5, 6], fortran=True),
        "garbage-header": header_bytes("{'descr': '<f4', 'shape': (2, 3) 'fortran") + data,
        "no-shape": header_bytes("{'descr': '<f4', 'fortran_order': False, }") + data,
        "huge-shape": header_bytes(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }") + data,
        "rank9": npy_bytes("f4", [1] * 9, [1.0]),
        "scalar": npy_bytes("f4", [], [1.0]),
        "empty": npy_bytes("f4", [2, 0], []),
        "empty-file": b"",
    }[kind]
    with open(path, "wb") as f:
        f.write(broken)


def is_close(got, want, tolerance):
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return abs(got - want) <= tolerance * max(1.0, abs(want))


def cmd_close(tolerance, *expected):
    got = [float(t) for t in sys.stdin.read().replace(",", " ").split()]
    want = [parse_value(v) for v in expected]
    ok = len(got) == len(want) and all(is_close(g, w, float(tolerance)) for g, w in zip(got, want))
    if not ok:
        print("got %s, want %s" % (got, want))
    sys.exit(0 if ok else 1)


def round_to(dtype, value):
    return struct.unpack("<" + FORMATS[dtype], struct.pack("<" + FORMATS[dtype], value))[0]


def significant_digits(token):
    mantissa = re.split("[eE]", token.lstrip("+-"))[0].replace(".", "")
    return len(mantissa.strip("0")) or 1


def cmd_shortest(dtype):
    for token in sys.stdin.read().replace(",", " ").split():
        if token in ("nan", "inf", "-inf"):
            continue
        value = round_to(dtype, float(token))
        fewest = next(p for p in range(1, 18) if round_to(dtype, float("%.*g" % (p, value))) == value)
        if significant_digits(token) != fewest:
            print("%s has %d significant digits; %d suffice" % (
                token, significant_digits(token), fewest))
            sys.exit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `npy_util.py read x | head -1` is fine
    commands = {"write": cmd_write, "read": cmd_read, "bad": cmd_bad, "close": cmd_close,
                "shortest": cmd_shortest}
    commands[sys.argv[1]](*sys.argv[2:])
