/*
 * rec_phases: a plain program (no recorder linked) whose peak is not at its
 * end: phase 1 builds up blocks at one line and frees some as it goes,
 * phase 2 frees them all and keeps a smaller set at another line, then a
 * churn at a third line never reaches the peak.  It prints, for the moment
 * its own live total was highest, the count and bytes per line:
 *   peak LINE COUNT BYTES
 * so that tests/recorder/rec_peak_massif.sh can compare them with the peak
 * snapshot that tmrun --peak writes (and the total with valgrind massif's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N1 = 60000, N2 = 2000, NCHURN = 64 };
enum { L1 = 0, L2, L3, NLINES };
static int lines[NLINES];
static size_t live_n[NLINES], live_b[NLINES], peak_n[NLINES], peak_b[NLINES];
static size_t live_total, peak_total;

static void note(int site, long n, long bytes)
{
    live_n[site] += (size_t)n;
    live_b[site] += (size_t)bytes;
    live_total += (size_t)bytes;
    if (live_total > peak_total) {
        peak_total = live_total;
        memcpy(peak_n, live_n, sizeof peak_n);
        memcpy(peak_b, live_b, sizeof peak_b);
    }
}

__attribute__((noinline)) static void *build(size_t size)
{
    lines[L1] = __LINE__ + 1;
    void *p = malloc(size);
    note(L1, 1, (long)size);
    return p;
}

__attribute__((noinline)) static void *keep(size_t size)
{
    lines[L2] = __LINE__ + 1;
    void *p = malloc(size);
    note(L2, 1, (long)size);
    return p;
}

__attribute__((noinline)) static void *churn(size_t size)
{
    lines[L3] = __LINE__ + 1;
    void *p = malloc(size);
    note(L3, 1, (long)size);
    return p;
}

int main(void)
{
    static void *a[N1], *b[N2];
    static size_t asz[N1];
    void *c[NCHURN] = { 0 };
    size_t csz[NCHURN] = { 0 };
    for (size_t i = 0; i < N1; i++) {
        asz[i] = 1000 + (i % 7) * 100;
        a[i] = build(asz[i]);
        memset(a[i], 1, 16);
        if (i % 5 == 4) {
            free(a[i - 2]);
            note(L1, -1, -(long)asz[i - 2]);
            a[i - 2] = NULL;
        }
    }
    for (size_t i = 0; i < N1; i++)
        if (a[i]) {
            free(a[i]);
            note(L1, -1, -(long)asz[i]);
        }
    for (size_t i = 0; i < N2; i++)
        b[i] = keep(4096 + i % 3);
    for (size_t i = 0; i < 200000; i++) {
        size_t k = i % NCHURN;
        if (c[k]) {
            free(c[k]);
            note(L3, -1, -(long)csz[k]);
        }
        csz[k] = 100 + i % 50;
        c[k] = churn(csz[k]);
    }
    for (size_t k = 0; k < NCHURN; k++) {
        free(c[k]);
        note(L3, -1, -(long)csz[k]);
    }
    for (int s = 0; s < NLINES; s++)
        printf("peak %d %zu %zu\n", lines[s], peak_n[s], peak_b[s]);
    printf("peak total %zu\n", peak_total);
    /* b[] stays live: the exit snapshot holds it. */
    return b[0] == NULL;
}
