/* The floor for calls: bare libcurl sending the same pre-signed DescribeCertificates request
 * (written by `bench/calls.lua presign`) over and over on one easy handle, so one kept-alive
 * connection. Options are set once; each response body is collected into a reused buffer and
 * its status checked, nothing more (no header parsing, no JSON).
 *
 *   calls_curl http|https page|empty REQUEST_FILE [CA_FILE]
 *
 * page|empty only names the result (calls.curl.<scheme>.<body>): the port in the request
 * decides what the responder sends.
 * REQUEST_FILE: the method, the URL, one "Name: value" header per line, an empty line, the
 * body. Prints one result line, the same JSON as bench/lib.lua's emit. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define ROUNDS 5
#define ROUND_SECONDS 0.4
#define WARMUP_SECONDS 0.3
#define BATCH 20
#define MAX_OPS 10000000L
#define MAX_REQUEST (64 * 1024)

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static buffer body;
static long failures, connects;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buffer *b = ud;
    size_t len = size * n;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + len)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return len;
}

static void perform(CURL *h)
{
    long status = 0, c = 0;
    body.len = 0;
    if (curl_easy_perform(h) != CURLE_OK ||
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200 ||
        body.len == 0)
        failures++;
    if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &c) == CURLE_OK)
        connects += c;
}

static long timed(CURL *h, double seconds, double *elapsed)
{
    long ops = 0;
    double start = now();
    *elapsed = 0;
    while (*elapsed < seconds && ops < MAX_OPS) {
        for (int i = 0; i < BATCH; i++)
            perform(h);
        ops += BATCH;
        *elapsed = now() - start;
    }
    return ops;
}

/* Splits the request file in place: method, URL, header lines, body. */
static int parse_request(char *text, char **url, struct curl_slist **headers, char **payload)
{
    char *line = text, *eol;
    int n = 0;
    while ((eol = strchr(line, '\n'))) {
        *eol = '\0';
        if (n == 1)
            *url = line;
        else if (n > 1 && *line == '\0') {
            *payload = eol + 1;
            return 0;
        } else if (n > 1) {
            struct curl_slist *l = curl_slist_append(*headers, line);
            if (!l)
                return -1;
            *headers = l;
        }
        n++;
        line = eol + 1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static char request[MAX_REQUEST];
    char *url = NULL, *payload = NULL;
    struct curl_slist *headers = NULL;
    int quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "1") == 0;
    int rounds = quick ? 2 : ROUNDS;
    double elapsed, best = 0, rates[ROUNDS];
    long requests = 0;

    if (argc < 4 || (strcmp(argv[1], "http") != 0 && strcmp(argv[1], "https") != 0) ||
        (strcmp(argv[2], "page") != 0 && strcmp(argv[2], "empty") != 0)) {
        fprintf(stderr, "usage: calls_curl http|https page|empty REQUEST_FILE [CA_FILE]\n");
        return 2;
    }
    FILE *f = fopen(argv[3], "rb");
    size_t len = f ? fread(request, 1, sizeof request - 1, f) : 0;
    if (f)
        fclose(f);
    request[len] = '\0';
    if (len == 0 || parse_request(request, &url, &headers, &payload) != 0) {
        fprintf(stderr, "calls_curl: cannot read the request in %s\n", argv[3]);
        return 1;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    if (!h)
        return 1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (argc > 4)
        curl_easy_setopt(h, CURLOPT_CAINFO, argv[4]);

    requests += timed(h, quick ? 0.05 : WARMUP_SECONDS, &elapsed);
    for (int r = 0; r < rounds; r++) {
        long ops = timed(h, quick ? 0.1 : ROUND_SECONDS, &elapsed);
        requests += ops;
        rates[r] = (double)ops / elapsed;
        if (rates[r] > best)
            best = rates[r];
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    free(body.data);
    curl_global_cleanup();
    if (failures) {
        fprintf(stderr, "calls_curl: %ld requests failed\n", failures);
        return 1;
    }
    printf("{\"id\":\"calls.curl.%s.%s\",\"rate\":%.1f,\"unit\":\"calls/s\",\"rounds\":[",
           argv[1], argv[2], best);
    for (int r = 0; r < rounds; r++)
        printf("%s%.1f", r ? "," : "", rates[r]);
    printf("],\"connects\":%ld,\"requests\":%ld}\n", connects, requests);
    return 0;
}
