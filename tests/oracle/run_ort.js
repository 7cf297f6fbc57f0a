#!/usr/bin/env node
// tests/oracle/run_ort.js — ONNX Runtime (onnxruntime-node, CPU) as the independent reference.
//
//   node tests/oracle/run_ort.js MODEL.onnx INPUT_DIR OUTPUT_DIR [--threads N] [--bench N] [--json]
//                                [--graph-opt disabled|basic|extended|all]
//
// Reads every graph input from INPUT_DIR/<N'>.npy and writes every output to OUTPUT_DIR/<N'>.npy,
// where N' is the tensor name with every byte outside [A-Za-z0-9_.-] replaced by '_' (the rule in
// docs/cli.md). With --bench N it also times N runs after the first (warm-up) run and prints one
// JSON object: {load_ms, first_run_ms, run_ms_median, run_ms_min, run_ms_mean, runs, threads,
// peak_rss_kb, ort_version}. --graph-opt sets ONNX Runtime's graph optimization level (default
// all; bench/zoo.py's detection baseline runs it with disabled). Errors: one line on stderr, exit 1 (2 for a usage error).
// Install: cd tests/oracle && npm install --ignore-scripts --no-audit --no-fund
'use strict';

const fs = require('fs');
const path = require('path');

class UsageError extends Error {}

// ---------------------------------------------------------------- .npy

// numpy descr <-> onnxruntime tensor type. One-byte types accept any byte-order mark.
const DTYPES = [
  { descr: '<f4', ort: 'float32', size: 4, Array: Float32Array },
  { descr: '<f2', ort: 'float16', size: 2, Array: Uint16Array },
  { descr: '<i8', ort: 'int64', size: 8, Array: BigInt64Array },
  { descr: '<i4', ort: 'int32', size: 4, Array: Int32Array },
  { descr: '|u1', ort: 'uint8', size: 1, Array: Uint8Array },
  { descr: '|i1', ort: 'int8', size: 1, Array: Int8Array },
  { descr: '|b1', ort: 'bool', size: 1, Array: Uint8Array },
  // 16/32/64-bit integer types
  { descr: '<i2', ort: 'int16', size: 2, Array: Int16Array },
  { descr: '<u2', ort: 'uint16', size: 2, Array: Uint16Array },
  { descr: '<u4', ort: 'uint32', size: 4, Array: Uint32Array },
  { descr: '<u8', ort: 'uint64', size: 8, Array: BigUint64Array },
];

function dtypeForDescr(descr, file) {
  const norm = /^[<>|=][uib]1$/.test(descr) ? '|' + descr.slice(1) : descr;
  const t = DTYPES.find((d) => d.descr === norm);
  if (!t) throw new Error(`${file}: dtype '${descr}' not supported`);
  return t;
}

function parseHeaderDict(text, file) {
  const bad = (what) => new Error(`${file}: malformed .npy header: ${what}`);
  const m = /^\s*\{(.*)\}\s*$/s.exec(text);
  if (!m) throw bad('not a dict');
  const entry = /\s*(['"])(\w+)\1\s*:\s*('[^']*'|"[^"]*"|True|False|\([^)]*\))\s*(,|$)/gy;
  const dict = {};
  let e;
  let pos = 0;
  while (pos < m[1].length && (e = entry.exec(m[1])) !== null) {
    if (e[2] in dict) throw bad(`duplicate key '${e[2]}'`);
    dict[e[2]] = e[3];
    pos = entry.lastIndex;
  }
  if (m[1].slice(pos).trim() !== '') throw bad(`cannot parse '${m[1].slice(pos).trim()}'`);
  for (const k of ['descr', 'fortran_order', 'shape']) if (!(k in dict)) throw bad(`missing key '${k}'`);
  if (Object.keys(dict).length !== 3) throw bad('unexpected keys');
  if (dict.fortran_order !== 'False') throw new Error(`${file}: fortran_order ${dict.fortran_order} not supported`);
  const inner = dict.shape.slice(1, -1).trim();
  const parts = inner === '' ? [] : inner.split(',').map((s) => s.trim());
  if (parts.length === 1) throw bad('shape is not a tuple');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const dims = parts.map((s) => {
    if (!/^\d+L?$/.test(s)) throw bad(`bad dimension '${s}'`);
    return Number(s.replace('L', ''));
  });
  if (!dims.every(Number.isSafeInteger)) throw bad('dimension too large');
  return { descr: dict.descr.slice(1, -1), dims };
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  if (major < 1 || major > 3 || buf[7] !== 0) throw new Error(`${file}: .npy version ${major}.${buf[7]} not supported`);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) throw new Error(`${file}: truncated header`);
  const hlen = lenBytes === 2 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (hlen > buf.length - start) throw new Error(`${file}: header length beyond end of file`);
  const { descr, dims } = parseHeaderDict(buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + hlen), file);
  const t = dtypeForDescr(descr, file);
  const count = dims.reduce((a, b) => a * b, 1);
  const nbytes = count * t.size;
  const have = buf.length - start - hlen;
  if (have !== nbytes) throw new Error(`${file}: data is ${have} bytes, shape needs ${nbytes}`);
  const copy = new Uint8Array(nbytes); // a fresh, aligned buffer for the typed array view
  copy.set(buf.subarray(start + hlen));
  return { type: t.ort, dims, data: new t.Array(copy.buffer, 0, count) };
}

// Same bytes as numpy 1.24's np.save: dict repr, 21-digit growth room for the first axis,
// spaces and '\n' so the data starts at a multiple of 64.
function npyBytes(type, dims, data) {
  const t = DTYPES.find((d) => d.ort === type);
  if (!t) throw new Error(`output type ${type} has no .npy writer here`);
  const shape = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${t.descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  if (dims.length > 0) header += ' '.repeat(Math.max(0, 21 - String(dims[0]).length));
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY\x01\x00', 'latin1').copy(pre);
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

function writeAtomic(file, bytes) {
  const tmp = `${file}.tmp.${process.pid}`;
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${file}: cannot write: ${err.message}`);
  }
}

function sanitize(name) {
  const bytes = Buffer.from(name, 'utf8');
  let out = '';
  for (const b of bytes) out += /[A-Za-z0-9_.-]/.test(String.fromCharCode(b)) && b < 128 ? String.fromCharCode(b) : '_';
  return out;
}

// ---------------------------------------------------------------- main

function parseArgs(argv) {
  const pos = [];
  const opt = { threads: 1, bench: 0, json: false, graphOpt: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const intArg = (name) => {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${name} needs a non-negative integer`);
      return Number(v);
    };
    if (a === '--threads') opt.threads = intArg(a);
    else if (a === '--bench') opt.bench = intArg(a);
    else if (a === '--json') opt.json = true;
    else if (a === '--graph-opt') {
      opt.graphOpt = argv[++i];
      if (!['disabled', 'basic', 'extended', 'all'].includes(opt.graphOpt)) throw new UsageError('--graph-opt needs disabled, basic, extended or all');
    }
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 3) throw new UsageError('usage: run_ort.js MODEL.onnx INPUT_DIR OUTPUT_DIR [--threads N] [--bench N] [--json] [--graph-opt LEVEL]');
  [opt.model, opt.inputs, opt.outputs] = pos;
  return opt;
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (err) {
    throw new Error(`onnxruntime-node not installed (cd tests/oracle && npm install --ignore-scripts): ${err.message.split('\n')[0]}`);
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  if (!fs.existsSync(opt.model)) throw new Error(`${opt.model}: no such file`);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(opt.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opt.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opt.graphOpt,
  });
  const loadMs = performance.now() - t0;

  const feeds = {};
  for (const name of session.inputNames) {
    const file = path.join(opt.inputs, sanitize(name) + '.npy');
    if (!fs.existsSync(file)) throw new Error(`${file}: missing file for graph input '${name}'`);
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }

  const t1 = performance.now();
  const results = await session.run(feeds);
  const firstMs = performance.now() - t1;

  fs.mkdirSync(opt.outputs, { recursive: true });
  for (const name of session.outputNames) {
    const r = results[name];
    writeAtomic(path.join(opt.outputs, sanitize(name) + '.npy'), npyBytes(r.type, r.dims.map(Number), r.data));
  }

  if (opt.bench > 0) {
    const times = [];
    for (let i = 0; i < opt.bench; i++) {
      const s = performance.now();
      await session.run(feeds);
      times.push(performance.now() - s);
    }
    const round = (x) => Math.round(x * 1000) / 1000;
    const report = {
      load_ms: round(loadMs),
      first_run_ms: round(firstMs),
      run_ms_median: round(median(times)),
      run_ms_min: round(Math.min(...times)),
      run_ms_mean: round(times.reduce((a, b) => a + b, 0) / times.length),
      runs: opt.bench,
      threads: opt.threads,
      peak_rss_kb: process.resourceUsage().maxRSS,
      ort_version: require('onnxruntime-node/package.json').version,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
  }
  await session.release();
}

if (require.main === module) {
  main().catch((err) => {
    const msg = String(err && err.message ? err.message : err).replace(/\s+/g, ' ').trim();
    process.stderr.write(`run_ort: error: ${msg}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
} else {
  module.exports = { readNpy, npyBytes, sanitize };
}
