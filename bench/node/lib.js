// The Node side of bench/lib.lua: the same bounded best-of-rounds measurement and the same
// one-JSON-object-per-line output.
"use strict";
const path = require("path");

const quick = process.env.BENCH_QUICK === "1";
const ROUNDS = quick ? 2 : 5;
const ROUND_SECONDS = quick ? 0.1 : 0.4;
const WARMUP_SECONDS = quick ? 0.05 : 0.3;
const MAX_OPS = 50000000;

function now() {
  return Number(process.hrtime.bigint()) / 1e9;
}

// The SDK lives in bench/node_modules (bench/run.sh installs it there).
function load(name) {
  return require(path.join(__dirname, "..", "node_modules", name));
}

function round1(x) {
  return Math.round(x * 10) / 10;
}

// rate(step, opts): step(n) does n operations synchronously; returns the best round's rate.
function rate(step, opts = {}) {
  const batch = opts.batch || 100;
  const timed = (limit) => {
    let ops = 0;
    const start = now();
    let elapsed = 0;
    while (elapsed < limit && ops < MAX_OPS) {
      step(batch);
      ops += batch;
      elapsed = now() - start;
    }
    return ops / elapsed;
  };
  timed(WARMUP_SECONDS);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(round1(timed(ROUND_SECONDS)));
  return { best: Math.max(...rounds), rounds };
}

// rateAsync(step, opts): the same for an async step(n).
async function rateAsync(step, opts = {}) {
  const batch = opts.batch || 10;
  const timed = async (limit) => {
    let ops = 0;
    const start = now();
    let elapsed = 0;
    while (elapsed < limit && ops < MAX_OPS) {
      await step(batch);
      ops += batch;
      elapsed = now() - start;
    }
    return ops / elapsed;
  };
  await timed(WARMUP_SECONDS);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(round1(await timed(ROUND_SECONDS)));
  return { best: Math.max(...rounds), rounds };
}

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

module.exports = { rate, rateAsync, emit, load, ROUNDS };
