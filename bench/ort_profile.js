// bench/ort_profile.js — ONNX Runtime's own per-node profile of one model, the counterpart of
// `aneforge bench BUNDLE --profile` (each node's fastest run, summed).
//
//   node bench/ort_profile.js MODEL.onnx INPUT_DIR [RUNS] [--threads N] [--top K | --ops]
//
// INPUT_DIR holds one .npy per model input (named after the input, as bench/zoo.py writes
// them: float32 or int64). Prints the sum of per-node minima, then the K slowest nodes (default
// 30) or, with --ops, the totals per op type. Uses the npm onnxruntime-node installed for the
// tests (tests/oracle/node_modules; `make deps`).
'use strict';
const path = require('path'), fs = require('fs'), os = require('os');
const ort = require(path.join(__dirname, '..', 'tests', 'oracle', 'node_modules', 'onnxruntime-node'));

function readNpy(f) {
  const b = fs.readFileSync(f), hl = b.readUInt16LE(8), h = b.slice(10, 10 + hl).toString();
  const shape = /\(([^)]*)\)/.exec(h)[1].split(',').filter(s => s.trim()).map(Number);
  const descr = /'descr':\s*'([^']*)'/.exec(h)[1];
  const data = b.slice(10 + hl), ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
  if (descr === '<f4') return new ort.Tensor('float32', new Float32Array(ab), shape);
  if (descr === '<i8') return new ort.Tensor('int64', new BigInt64Array(ab), shape);
  throw new Error(`${f}: dtype ${descr} not supported`);
}

(async () => {
  const args = process.argv.slice(2), opt = (k, d) => {
    const i = args.indexOf(k); return i < 0 ? d : (args.splice(i, 2)[1]);
  };
  const threads = +opt('--threads', 1), top = +opt('--top', 30);
  const ops = args.includes('--ops') && args.splice(args.indexOf('--ops'), 1);
  const [model, dir, runs] = args;
  if (!model || !dir) { console.error('usage: node bench/ort_profile.js MODEL.onnx INPUT_DIR [RUNS] [--threads N] [--top K | --ops]'); process.exit(2); }
  const prefix = path.join(os.tmpdir(), `ort_profile_${process.pid}`);
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1,
    enableProfiling: true, profileFilePrefix: prefix, executionMode: 'sequential' });
  const feeds = {};
  for (const n of s.inputNames) feeds[n] = readNpy(path.join(dir, n.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'));
  for (let i = 0; i < (+runs || 10); i++) await s.run(feeds);
  let f = s.endProfiling && s.endProfiling();
  if (!f || !fs.existsSync(f)) {
    await s.release();
    f = fs.readdirSync(os.tmpdir()).filter(x => x.startsWith(path.basename(prefix)) && x.endsWith('.json'))
      .map(x => path.join(os.tmpdir(), x))[0];
  }
  const ev = JSON.parse(fs.readFileSync(f));
  fs.unlinkSync(f);
  const best = {}; // node -> fastest run (ms)
  for (const e of ev) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
    const k = e.name.replace('_kernel_time', '') + ' [' + (e.args.op_name || '') + ']';
    best[k] = Math.min(best[k] ?? Infinity, e.dur / 1000);
  }
  const rows = Object.entries(best).sort((a, b) => b[1] - a[1]);
  console.log('sum of per-node minima', rows.reduce((t, [, v]) => t + v, 0).toFixed(3), 'ms');
  if (ops) {
    const t = {};
    for (const [k, v] of rows) { const op = k.replace(/.*\[/, '').replace(']', ''); t[op] = (t[op] || 0) + v; }
    for (const [k, v] of Object.entries(t).sort((a, b) => b[1] - a[1])) console.log(v.toFixed(3).padStart(9), k);
  } else for (const [k, v] of rows.slice(0, top)) console.log(v.toFixed(3).padStart(9), k);
})().catch(e => { console.error(`ort_profile: ${e.message}`); process.exit(1); });
