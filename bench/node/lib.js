// The Node side of bench/lib.lua: the round protocol (commands on stdin, one JSON line on
// stdout each, a last line at the end of input) and the same warm-up rule, so that the Node
// SDK is measured as the other programs are, once its rate is steady.
"use strict";
const path = require("path");
const readline = require("readline");

const quick = process.env.BENCH_QUICK === "1";
const WINDOW = quick ? 0.05 : 0.2;
const MAX_WARM = quick ? 0.5 : 8;

function now() {
  return Number(process.hrtime.bigint()) / 1e9;
}

// The SDK lives where bench/run.sh installed it (BENCH_NODE_MODULES, default
// build/bench-node/node_modules).
function load(name) {
  const dir = process.env.BENCH_NODE_MODULES || path.join(__dirname, "..", "..", "build", "bench-node", "node_modules");
  return require(path.join(dir, name));
}

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

async function timed(step, seconds, batch) {
  let ops = 0;
  const start = now();
  let elapsed = 0;
  while (elapsed < seconds && ops < 1e9) {
    await step(batch);
    ops += batch;
    elapsed = now() - start;
  }
  return { ops, elapsed };
}

// Warm-up: windows until `warmOps` operations (30,000 by default: V8 compiles the hot paths
// late) or, after `warmSeconds`, until two successive windows agree within 5 %; capped at
// MAX_WARM seconds, in which case the answer says steady: false.
async function warm(step, opts) {
  const batch = opts.batch || 1;
  const minSeconds = quick ? 0.1 : (opts.warmSeconds || 2);
  const maxOps = opts.warmOps || 30000;
  const start = now();
  let ops = 0;
  let last = null;
  let steady = true;
  for (;;) {
    const w = await timed(step, WINDOW, batch);
    ops += w.ops;
    const rate = w.ops / w.elapsed;
    const total = now() - start;
    if (ops >= maxOps) break;
    if (total >= MAX_WARM) {
      steady = false;
      break;
    }
    if (last !== null && total >= minSeconds && Math.abs(rate - last) <= 0.05 * last) break;
    last = rate;
  }
  return { warm_ops: ops, warm_seconds: now() - start, steady };
}

// serve(step, opts, final): step(n) does n operations (may be async); final() -> the facts of
// the last line.
async function serve(step, opts = {}, final = () => ({})) {
  const batch = opts.batch || 1;
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === "warm") {
      emit(await warm(step, opts));
    } else if (cmd === "round") {
      const { ops, elapsed } = await timed(step, Number(arg) || 0.2, batch);
      emit({ ops, seconds: elapsed, rate: ops / elapsed });
    } else {
      emit({ error: "unknown command " + line });
    }
  }
  emit(Object.assign({ final: true }, await final()));
}

module.exports = { serve, emit, load };
