"""Threads: a run releases the GIL (shown without any timing: another Python thread must act
while the run is inside the C runtime), and sessions on several threads sharing one bundle give
the outputs of one thread."""
import ctypes
import os
import threading
import time

import numpy as np
import pytest

import aneforge as af


class Gate(ctypes.Structure):  # af_pyhooks_gate in python/tests/hooks.c
    _fields_ = [("entered", ctypes.c_int), ("released", ctypes.c_int), ("saw_release", ctypes.c_int)]


def hooks():
    path = os.environ.get("AF_PYHOOKS")
    if not path or not os.path.exists(path):
        pytest.skip("AF_PYHOOKS (the build's libaf_pyhooks.so) not set")
    return ctypes.CDLL(path)


def test_run_releases_the_gil(small_bundle, small_input):
    """The observer blocks inside af_session_run after the first node until `released` is set.
    Only a Python thread sets it, so the run can finish with saw_release == 1 only if that
    thread ran Python code while the main thread was inside session.run(): the GIL was free.
    (Holding the GIL would make the observer give up after its 20 s guard: saw_release == 0.)"""
    lib = hooks()
    gate = Gate()
    s = small_bundle.session()
    observer = ctypes.cast(lib.af_pyhooks_gate_observer, ctypes.c_void_p)
    s._set_observer(observer, ctypes.addressof(gate))
    progressed = []

    def other():
        while not gate.entered:  # Python bytecode: needs the GIL
            time.sleep(0.0005)
        progressed.append(True)
        gate.released = 1

    t = threading.Thread(target=other)
    t.start()
    y = s.run({"input": small_input})["output"]
    t.join()
    assert gate.entered == 1 and progressed == [True]
    assert gate.saw_release == 1, "the run held the GIL: no Python thread could act during it"
    s._set_observer(None, None)
    assert y.tobytes() == s.run({"input": small_input})["output"].tobytes()


def test_threads_sharing_one_bundle_match_one_thread(small_bundle):
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((1, 3, 64, 64)).astype(np.float32) for _ in range(6)]
    one = small_bundle.session()
    expected = [one.run({"input": x})["output"] for x in xs]
    results = {}
    errors = []

    def worker(k):
        try:
            s = small_bundle.session(threads=1 + k % 2)  # kernel thread count does not matter
            for rep in range(3):
                for i, x in enumerate(xs):
                    results[(k, rep, i)] = s.run({"input": x})["output"]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 3 * 3 * len(xs)
    for (k, rep, i), y in results.items():
        assert y.tobytes() == expected[i].tobytes(), (k, rep, i)


def test_one_session_used_from_two_threads_is_serialised(small_bundle, small_input):
    s = small_bundle.session()
    ref = s.run({"input": small_input})["output"]
    out = []
    ts = [threading.Thread(target=lambda: out.append(s.run({"input": small_input})["output"]))
          for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(out) == 4 and all(o.tobytes() == ref.tobytes() for o in out)
