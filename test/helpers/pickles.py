#!/usr/bin/python3
"""
Real pickles from real Python, for test/unit/django/pickle.test.ts (run by /usr/bin/python3).

    pickles.py corpus         -> JSON: {"python": ..., "cases": [{name, protocol, b64, expect}]}
    pickles.py load < blobs   -> JSON: one {"value": canonical} or {"error": type} per blob

`expect`/`value` is the canonical form both sides compare (see `canon`). `load` runs pickle.loads only on
blobs in which pickletools finds no opcode that can name a callable (see `safe_loads`), so nothing
in a fuzzed blob can run.
"""
import datetime
import json
import pickle
import pickletools
import random
import struct
import sys


def canon(v, depth=0):
    """A tagged, JSON-able form: lists and tuples alike (JS has one array), dicts as sorted pairs."""
    if v is None:
        return ["none"]
    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, int):
        return ["int", str(v)]
    if isinstance(v, float):
        return ["float", struct.pack(">d", v).hex()]
    if isinstance(v, str):
        return ["str", v]
    if isinstance(v, bytes):
        return ["bytes", v.hex()]
    if isinstance(v, (list, tuple)):
        return ["list", [canon(x, depth + 1) for x in v]]
    if isinstance(v, dict):
        pairs = [[canon(k, depth + 1), canon(x, depth + 1)] for k, x in v.items()]
        pairs.sort(key=lambda p: json.dumps(p[0]))
        return ["dict", pairs]
    raise TypeError(type(v).__name__)


# Every opcode that can name, import or call something; a blob holding one is never loaded.
UNSAFE = {
    "GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "REDUCE", "BUILD",
    "PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4",
}


def safe_loads(blob):
    """pickle.loads, as Django's cache calls it, on a blob that names no callable.

    Not an Unpickler over a file: reading from a file enforces frame boundaries that
    pickle.loads on bytes does not, and the bridge must agree with what Django does.
    """
    for op, _arg, _pos in pickletools.genops(blob):
        if op.name in UNSAFE:
            raise pickle.UnpicklingError("refused opcode " + op.name)
    return pickle.loads(blob)


class Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


class Point:
    def __init__(self):
        self.x = 1


def rand_value(rng, depth=0):
    kinds = ["none", "bool", "int", "bigint", "float", "str", "bytes"]
    if depth < 4:
        kinds += ["list", "tuple", "dict", "dict"]
    k = rng.choice(kinds)
    if k == "none":
        return None
    if k == "bool":
        return rng.random() < 0.5
    if k == "int":
        return rng.choice([0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31, rng.randint(-10**6, 10**6)])
    if k == "bigint":
        return rng.choice([1, -1]) * rng.randint(2**53 - 2, 2**200)
    if k == "float":
        return rng.choice([0.0, -0.0, 0.5, 1e-5, 1e300, float("inf"), -float("inf"), rng.uniform(-1e9, 1e9)])
    if k == "str":
        alphabet = "abc\u00e9\u2713\u65e5\U0001f600\x00\ud800\udfff\"\\"
        n = rng.choice([0, 1, 5, 40, 300])
        return "".join(rng.choice(alphabet) for _ in range(n))
    if k == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 3, 300])))
    if k == "list":
        return [rand_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    if k == "tuple":
        return tuple(rand_value(rng, depth + 1) for _ in range(rng.randrange(6)))
    d = {}
    for _ in range(rng.randrange(5)):
        key = rng.choice(
            [rand_value(rng, 9), "key" + str(rng.randrange(5)), rng.randrange(3), (1, "t")]
        )
        d[key] = rand_value(rng, depth + 1)
    return d


def corpus():
    shared = ["shared"]
    fixed = {
        "login_session": {
            "_auth_user_id": "1",
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": "066a7d500936dafbd296c0a16b5b9840585ce6084dac35fb308499b07dfef774",
        },
        "scalars": [None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**63, -2**63 - 1, 2**64, 0.5, -0.0, 1e-300],
        "strings": ["", "a" * 255, "b" * 256, "h\u00e9llo \u2713 \u65e5\u672c \U0001f600", "\ud800 lone", "__proto__"],
        "bytes": [b"", b"\x00\xff", b"x" * 256],
        "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
        "dict_keys": {1: "int", 1.5: "float", None: "none", (1, "a"): "tuple", b"k": "bytes", "s": "str"},
        "equal_keys": {1: "a", True: "b", 1.0: "c"},
        "tuple_keys_alike": {("a,sb",): 1, ("a", "b"): 2, ("a)", "("): 3, ("a", ")("): 4},
        "proto_key": {"__proto__": {"polluted": True}, "constructor": 1},
        "shared_refs": {"a": shared, "b": shared, "c": [shared, shared]},
        "many_items": list(range(2500)),
        "big_dict": {"k%d" % i: i for i in range(1200)},
        "nested": [[[[[["deep"]]]]]],
    }
    cases = []
    for name, value in fixed.items():
        for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
            blob = pickle.dumps(value, proto)
            try:
                # Protocol 2 has no bytes opcode: Python writes _codecs.encode(...), a GLOBAL.
                expect = canon(pickle.loads(blob)) if not (proto == 2 and _has_bytes(value)) else None
            except TypeError:
                expect = None
            cases.append({"name": name, "protocol": proto, "b64": _b64(blob), "expect": expect})
    rng = random.Random(20261206)
    for i in range(300):
        value = rand_value(rng)
        proto = 2 + i % (pickle.HIGHEST_PROTOCOL - 1)
        blob = pickle.dumps(value, proto)
        expect = None if proto == 2 and _has_bytes(value) else canon(pickle.loads(blob))
        cases.append({"name": "random_%d" % i, "protocol": proto, "b64": _b64(blob), "expect": expect})

    forbidden = {
        "datetime": datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc),
        "set": {1, 2},
        "frozenset": frozenset([1]),
        "bytearray": bytearray(b"x"),
        "instance": Point(),
        "os_system": Evil(),
    }
    for name, value in forbidden.items():
        for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
            cases.append({"name": "forbidden_" + name, "protocol": proto, "b64": _b64(pickle.dumps(value, proto)), "expect": None})
    for proto in (0, 1):
        cases.append({"name": "old_protocol", "protocol": proto, "b64": _b64(pickle.dumps({"a": 1}, proto)), "expect": None})
    cyclic = []
    cyclic.append(cyclic)
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        cases.append({"name": "cyclic", "protocol": proto, "b64": _b64(pickle.dumps(cyclic, proto)), "expect": None})
    deep = "bottom"
    for _ in range(150):
        deep = [deep]
    cases.append({"name": "too_deep", "protocol": 5, "b64": _b64(pickle.dumps(deep, 5)), "expect": None})
    return {"python": sys.version.split()[0], "highest": pickle.HIGHEST_PROTOCOL, "cases": cases}


def _has_bytes(v):
    if isinstance(v, bytes):
        return True
    if isinstance(v, (list, tuple)):
        return any(_has_bytes(x) for x in v)
    if isinstance(v, dict):
        return any(_has_bytes(k) or _has_bytes(x) for k, x in v.items())
    return False


def _b64(blob):
    import base64

    return base64.b64encode(blob).decode()


def load():
    import base64

    out = []
    for b64 in json.load(sys.stdin):
        try:
            value = safe_loads(base64.b64decode(b64))
            out.append({"value": canon(value)})
        except Exception as e:  # every way a blob can fail; nothing in it can run
            out.append({"error": type(e).__name__})
    return out


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    print(json.dumps(corpus() if sys.argv[1] == "corpus" else load()))
