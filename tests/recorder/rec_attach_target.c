/* A running program for tmrun -p (tests/recorder/rec_attach.sh): four
 * threads churn malloc/free (and new/delete) until told to stop; the main
 * thread makes known allocations at known lines each time a cue file
 * appears, and prints what it allocated there, which is the test's oracle.
 *
 *   rec_attach_target DIR
 *     writes DIR/ready (its pid) once the threads run, then reads cue
 *     lines from the FIFO DIR/cue:
 *     "N": allocates round N's blocks, keeps them, writes DIR/expect.N
 *       ("FILE:LINE SIZE COUNT" per site, then "done");
 *     "plugin PATH LINE": dlopens PATH, allocates there (plugin_round);
 *     "exit": churns for 2 more seconds, joins, prints a summary on
 *       stdout, exits with status 7. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* rec_attach_target_cxx.cpp: new char[n] (the known site, on line
 * rec_attach_new_line of that file), and the churn's new/delete. */
void *rec_attach_new_array(size_t n);
extern const int rec_attach_new_line;
void *rec_attach_churn_new(size_t n);
void rec_attach_churn_delete(void *p);

static _Atomic int stop_churn;
static _Atomic unsigned long churn_ops[4];

static void *churn(void *arg)
{
    unsigned idx = (unsigned)(uintptr_t)arg;
    unsigned seed = 12345u + idx;
    void *slots[64] = { 0 };
    char is_new[64] = { 0 };
    while (!atomic_load(&stop_churn)) {
        unsigned k = (seed = seed * 1103515245u + 12345u) >> 16;
        unsigned s = k % 64;
        if (slots[s]) {
            if (is_new[s])
                rec_attach_churn_delete(slots[s]);
            else
                free(slots[s]);
            slots[s] = NULL;
        } else if (k & 1) {
            slots[s] = malloc(16 + (k % 3000));
            is_new[s] = 0;
        } else {
            slots[s] = rec_attach_churn_new(16 + (k % 500));
            is_new[s] = 1;
        }
        atomic_fetch_add_explicit(&churn_ops[idx], 1, memory_order_relaxed);
        if ((k & 1023) == 0)
            usleep(100);
    }
    for (unsigned s = 0; s < 64; s++)
        if (is_new[s])
            rec_attach_churn_delete(slots[s]);
        else
            free(slots[s]);
    return NULL;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[4096], tmp[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, p) != 0) {
        perror(p);
        exit(3);
    }
}

#define MAXKEEP 64
static void *kept[4][MAXKEEP];

/* The line of the call it wraps (__LINE__ in a macro is the invocation's). */
#define AT(line, call) ((line) = __LINE__, (call))

/* Round r's blocks: sizes depend on r so that two rounds differ. */
static void known_round(const char *dir, int r)
{
    int la = 0, lb = 0, ld = 0, le = 0, lf = 0, k = 0;
    void **keep = kept[r % 4];
    size_t a = 1000 + (size_t)r, b = 200 + (size_t)r, c = 4096 + (size_t)r;
    for (int i = 0; i < 7; i++)
        keep[k++] = AT(la, malloc(a));
    for (int i = 0; i < 3; i++)
        keep[k++] = AT(lb, calloc(5, b));
    for (int i = 0; i < 2; i++)
        keep[k++] = rec_attach_new_array(c);           /* counted in the C++ file */
    free(AT(ld, malloc(999)));                         /* freed at once: never in a snapshot */
    keep[k] = AT(le, realloc(NULL, 3000 + (size_t)r)); /* reallocated below */
    keep[k] = AT(lf, realloc(keep[k], 50000 + (size_t)r));
    char text[1024];
    snprintf(text, sizeof text,
             "rec_attach_target.c:%d %zu 7\n"
             "rec_attach_target.c:%d %zu 3\n"
             "rec_attach_target_cxx.cpp:%d %zu 2\n"
             "rec_attach_target.c:%d 0 0\n"
             "rec_attach_target.c:%d 0 0\n"
             "rec_attach_target.c:%d %zu 1\n"
             "done\n",
             la, 7 * a, lb, 3 * 5 * b, rec_attach_new_line, 2 * c, ld, le, lf, 50000 + (size_t)r);
    char name[32];
    snprintf(name, sizeof name, "expect.%d", r);
    write_file(dir, name, text);
}

/* "plugin PATH LINE": a module loaded now, while attached, allocates
 * three blocks at LINE of its source (rec_plugin.c's plugin_alloc). */
static void plugin_round(const char *dir, char *arg)
{
    char *sp = strrchr(arg, ' ');
    if (!sp)
        exit(3);
    *sp = 0;
    void *h = dlopen(arg, RTLD_NOW);
    void *(*alloc)(size_t) = h ? (void *(*)(size_t))dlsym(h, "plugin_alloc") : NULL;
    if (!alloc) {
        fprintf(stderr, "rec_attach_target: %s: %s\n", arg, dlerror());
        exit(3);
    }
    for (int i = 0; i < 3; i++)
        kept[0][i] = alloc(7777); /* rounds 1..3 use kept[1..3] */
    char text[256];
    snprintf(text, sizeof text, "rec_plugin.c:%s %d 3\ndone\n", sp + 1, 3 * 7777);
    write_file(dir, "expect.plugin", text);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: rec_attach_target DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++)
        if (pthread_create(&th[i], NULL, churn, (void *)(uintptr_t)i) != 0)
            return 3;
    char buf[64];
    snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    write_file(dir, "ready", buf);
    /* Cues arrive on a FIFO: the main thread waits in read(2), where tmrun
     * usually stops it; an interrupted read that did not restart as it
     * should would end the program here. */
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s/cue", dir);
    int fd = open(fifo, O_RDWR); /* also a writer: no EOF between cues */
    if (fd < 0) {
        perror(fifo);
        return 3;
    }
    int round = 1;
    char line[4200];
    size_t have = 0;
    for (;;) {
        ssize_t k = read(fd, line + have, sizeof line - 1 - have);
        if (k <= 0) {
            perror("rec_attach_target: read");
            return 3;
        }
        have += (size_t)k;
        line[have] = 0;
        char *nl = strchr(line, '\n');
        if (!nl)
            continue;
        *nl = 0;
        if (strcmp(line, "exit") == 0)
            break;
        if (strncmp(line, "plugin ", 7) == 0) {
            plugin_round(dir, line + 7);
            have -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, have);
            continue;
        }
        if (atoi(line) != round) {
            fprintf(stderr, "rec_attach_target: cue '%s', expected %d\n", line, round);
            return 3;
        }
        known_round(dir, round++);
        have -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, have);
    }
    /* Told to finish: the threads go on for a while, then stop. */
    sleep(2);
    atomic_store(&stop_churn, 1);
    unsigned long total = 0;
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += atomic_load(&churn_ops[i]);
    }
    printf("rec_attach_target: %d rounds, churned %s\n", round - 1, total > 0 ? "yes" : "no");
    return 7;
}
