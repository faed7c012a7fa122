/* The round protocol of bench/lib.lua for the C floors: commands on stdin (warm, round
 * SECONDS), one JSON line on stdout for each, and a last line at the end of input. The
 * program gives a step function doing n operations, and the facts of its last line.
 * Header-only: each floor is one C file including it. */
#ifndef TCSSL_BENCH_ROUNDS_H
#define TCSSL_BENCH_ROUNDS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*rounds_step)(void *ctx, long n);

static double rounds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rounds_timed(rounds_step step, void *ctx, double seconds, long batch, double *elapsed)
{
    long ops = 0;
    double start = rounds_now();
    *elapsed = 0;
    while (*elapsed < seconds && ops < 1000000000L) {
        step(ctx, batch);
        ops += batch;
        *elapsed = rounds_now() - start;
    }
    return ops;
}

/* The warm-up of bench/lib.lua (B.warm): windows until two successive ones agree within 5 %
 * after min_seconds, or max_ops operations, or the time cap. */
static void rounds_warm(rounds_step step, void *ctx, long batch, double min_seconds, long max_ops)
{
    int quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "1") == 0;
    double window = quick ? 0.05 : 0.2, cap = quick ? 0.5 : 2, last = -1, elapsed;
    double start = rounds_now();
    long ops = 0;
    int steady = 1;
    if (quick)
        min_seconds = 0.1;
    for (;;) {
        long n = rounds_timed(step, ctx, window, batch, &elapsed);
        double rate = (double)n / elapsed, total = rounds_now() - start;
        ops += n;
        if (ops >= max_ops)
            break;
        if (total >= cap) {
            steady = 0;
            break;
        }
        if (last > 0 && total >= min_seconds && fabs(rate - last) <= 0.05 * last)
            break;
        last = rate;
    }
    printf("{\"warm_ops\":%ld,\"warm_seconds\":%.3f,\"steady\":%s}\n", ops, rounds_now() - start,
           steady ? "true" : "false");
    fflush(stdout);
}

/* Answers the commands until the end of input; the caller then prints its last line. */
static void rounds_serve(rounds_step step, void *ctx, long batch)
{
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "warm", 4) == 0) {
            rounds_warm(step, ctx, batch, 0.4, 1000000000L);
        } else if (strncmp(line, "round", 5) == 0) {
            double seconds = atof(line + 5), elapsed;
            long ops = rounds_timed(step, ctx, seconds > 0 ? seconds : 0.2, batch, &elapsed);
            printf("{\"ops\":%ld,\"seconds\":%.6f,\"rate\":%.3f}\n", ops, elapsed, (double)ops / elapsed);
        } else {
            printf("{\"error\":\"unknown command\"}\n");
        }
        fflush(stdout);
    }
}

#endif
