#!/usr/bin/python3
"""Issue 15 (dtypes): small models over INT16, UINT16, UINT32 and UINT64 tensors for
tests/e2e/dtypes_ort.sh.

  dtypes_models.py make DIR    writes DIR/<case>/model.onnx and DIR/<case>/inputs/*.npy
  dtypes_models.py check DIR   compares DIR/<case>/ours/*.npy with DIR/<case>/ort/*.npy

Integers and bools must match exactly; floats within rtol 1e-3 / atol 1e-5 as in the
conformance runner (the uint16 image model's conv sums differ from ONNX Runtime's only in
summation order), except the u64 -> float cast, which must be exact to 1 float ulp
(rtol 1.2e-7: a u64 goes through double before float here)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

INTS = {'i8': T.INT8, 'u8': T.UINT8, 'i16': T.INT16, 'u16': T.UINT16, 'i32': T.INT32,
        'u32': T.UINT32, 'i64': T.INT64, 'u64': T.UINT64}
NP = {T.FLOAT: np.float32, T.INT16: np.int16, T.UINT16: np.uint16, T.UINT32: np.uint32,
      T.UINT64: np.uint64, T.INT64: np.int64, T.BOOL: np.bool_}
BIG = [0, 1, 2**63 - 1, 2**63, 2**63 + 5, 2**64 - 1]


def vi(name, t, shape):
    return h.make_tensor_value_info(name, t, shape)


def save(d, nodes, ins, outs, feeds, inits=()):
    g = h.make_graph(nodes, os.path.basename(d), ins, outs, initializer=list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    os.makedirs(d + '/inputs', exist_ok=True)
    onnx.save(m, d + '/model.onnx')
    for k, v in feeds.items():
        np.save(d + '/inputs/' + k + '.npy', v)


def cast_from_float(d):
    """f32 -> every integer type; out-of-range values as ONNX Runtime gives them on x86-64."""
    x = np.array([-1.7, -0.5, 0.5, 1.9, 200.6, 300.2, -300.2, 70000.5, -70000.5, 5e9, -5e9,
                  1e19, 2147483648.0, 4294967296.0, 3e9, 9.3e18, -9.3e18, np.nan, np.inf,
                  -np.inf, 2e19], np.float32)
    nodes = [h.make_node('Cast', ['x'], ['to_' + k], to=t) for k, t in INTS.items()]
    outs = [vi('to_' + k, t, [len(x)]) for k, t in INTS.items()]
    save(d, nodes, [vi('x', T.FLOAT, [len(x)])], outs, {'x': x})


def cast_between_ints(d):
    """u64 above 2^63 and negative i16 to every integer type and to float (wrapping)."""
    u = np.array(BIG + [12345678901234567890], np.uint64)
    s = np.array([-32768, -300, -1, 0, 1, 255, 32767], np.int16)
    nodes, outs = [], []
    for src, t, n in (('u', T.UINT64, len(u)), ('s', T.INT16, len(s))):
        for k, tt in list(INTS.items()) + [('f32', T.FLOAT)]:
            nodes.append(h.make_node('Cast', [src], [src + '_to_' + k], to=tt))
            outs.append(vi(src + '_to_' + k, tt, [n]))
    save(d, nodes, [vi('u', T.UINT64, [len(u)]), vi('s', T.INT16, [len(s)])], outs,
         {'u': u, 's': s})


def u64_order(d):
    """u64 above 2^63: Max/Min/comparisons/Div/Mod exact, moves keep every bit (ONNX Runtime
    has no u64 Where or ReduceMax: the unit tests cover them)."""
    a = np.array(BIG, np.uint64).reshape(2, 3)
    b = np.array([2**63, 2**64 - 1, 1, 2**63 - 1, 3, 7], np.uint64).reshape(2, 3)
    nodes = [h.make_node(op, ['a', 'b'], [op.lower()]) for op in
             ('Max', 'Min', 'Less', 'Greater', 'Equal', 'Div', 'Mod', 'Add', 'Sub', 'Mul')]
    nodes += [h.make_node('Transpose', ['a'], ['transpose'], perm=[1, 0]),
              h.make_node('Concat', ['a', 'b'], ['concat'], axis=0),
              h.make_node('Gather', ['a', 'idx'], ['gather'], axis=1)]
    idx = h.make_tensor('idx', T.INT64, [2], [2, 0])
    boolean = ('less', 'greater', 'equal')
    shape = {"transpose": [3, 2], "concat": [4, 3], "gather": [2, 2], "rmax": [2], "rmin": [2]}
    outs = [vi(n.output[0], T.BOOL if n.output[0] in boolean else T.UINT64,
               shape.get(n.output[0], [2, 3]))
            for n in nodes]
    save(d, nodes, [vi('a', T.UINT64, [2, 3]), vi('b', T.UINT64, [2, 3])], outs,
         {'a': a, 'b': b}, [idx])


def int16_arith(d):
    """i16 with sign rules (Mod's sign follows the divisor; fmod the dividend). ONNX Runtime has
    has no int16 Add/Sub/Mul/Div/Max/Min kernels, so those are left to the backend data and the
    unit tests."""
    a = np.array([-32768, -7, -7, 7, 7, 300, 32767, -1], np.int16)
    b = np.array([3, 3, -3, 3, -3, 200, 2, 5], np.int16)
    nodes = [h.make_node('Mod', ['a', 'b'], ['mod']),
              h.make_node('Mod', ['a', 'b'], ['fmod'], fmod=1),
              h.make_node('Abs', ['a'], ['abs']), h.make_node('Neg', ['a'], ['neg']),
              h.make_node('Sign', ['a'], ['sign'])]
    outs = [vi(n.output[0], T.INT16, [8]) for n in nodes]
    save(d, nodes, [vi('a', T.INT16, [8]), vi('b', T.INT16, [8])], outs, {'a': a, 'b': b})


def uint16_image(d):
    """A 16-bit PNG as it arrives: uint16 pixels -> Cast -> scale -> Conv -> Relu."""
    rng = np.random.default_rng(15)
    x = rng.integers(0, 65536, size=(1, 1, 16, 16), dtype=np.uint16)
    w = h.make_tensor('w', T.FLOAT, [4, 1, 3, 3], rng.standard_normal(36).astype(np.float32))
    k = h.make_tensor('k', T.FLOAT, [], [1.0 / 65535.0])
    nodes = [h.make_node('Cast', ['x'], ['xf'], to=T.FLOAT),
             h.make_node('Mul', ['xf', 'k'], ['xs']),
             h.make_node('Conv', ['xs', 'w'], ['c'], pads=[1, 1, 1, 1]),
             h.make_node('Relu', ['c'], ['y'])]
    save(d, nodes, [vi('x', T.UINT16, [1, 1, 16, 16])], [vi('y', T.FLOAT, [1, 4, 16, 16])],
         {'x': x}, [w, k])


def typed_fields(d):
    """Initializers in the typed fields, not raw_data: int16/uint16 in int32_data, uint32/uint64
    in uint64_data (onnx.proto's rule)."""
    inits = [h.make_tensor('c16', T.INT16, [2], [-3, 7]),
             h.make_tensor('cu16', T.UINT16, [2], [65535, 1]),
             h.make_tensor('cu32', T.UINT32, [2], [4294967295, 5]),
             h.make_tensor('cu64', T.UINT64, [2], [2**64 - 1, 2**63])]
    assert not inits[3].raw_data and len(inits[3].uint64_data) == 2
    nodes = [h.make_node('Cast', ['c16'], ['o16'], to=T.INT32),
             h.make_node('Cast', ['cu16'], ['ou16'], to=T.INT32),
             h.make_node('Max', ['a32', 'cu32'], ['ou32']),
             h.make_node('Min', ['a64', 'cu64'], ['ou64'])]
    outs = [vi('o16', T.INT32, [2]), vi('ou16', T.INT32, [2]), vi('ou32', T.UINT32, [2]),
            vi('ou64', T.UINT64, [2])]
    save(d, nodes, [vi('a32', T.UINT32, [2]), vi('a64', T.UINT64, [2])], outs,
         {'a32': np.array([6, 7], np.uint32), 'a64': np.array([2**63 + 1, 3], np.uint64)}, inits)


CASES = [cast_from_float, cast_between_ints, u64_order, int16_arith, uint16_image, typed_fields]


def check(root):
    bad = 0
    for case in sorted(os.listdir(root)):
        ort_dir, ours_dir = f'{root}/{case}/ort', f'{root}/{case}/ours'
        for f in sorted(os.listdir(ort_dir)):
            want, got = np.load(f'{ort_dir}/{f}'), np.load(f'{ours_dir}/{f}')
            ok = want.dtype == got.dtype and want.shape == got.shape
            if ok and want.dtype == np.float32:
                rtol = 1.2e-7 if case == 'cast_between_ints' else 1e-3
                atol = 0 if case == 'cast_between_ints' else 1e-5
                ok = np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
            elif ok:
                ok = np.array_equal(got, want)
            if not ok:
                bad += 1
                print(f'FAIL {case}/{f}: ours {got.dtype}{list(got.shape)} {got.ravel()[:8]} '
                      f'ORT {want.dtype}{list(want.shape)} {want.ravel()[:8]}')
        print(f'{case}: {"ok" if not bad else "checked"} ({len(os.listdir(ort_dir))} outputs)')
    return bad


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ('make', 'check'):
        sys.exit(__doc__)
    if sys.argv[1] == 'make':
        for c in CASES:
            c(f'{sys.argv[2]}/{c.__name__}')
        return
    sys.exit(1 if check(sys.argv[2]) else 0)


if __name__ == '__main__':
    main()
