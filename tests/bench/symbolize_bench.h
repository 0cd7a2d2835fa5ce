/* What symbolize_bench.c and its --big mode (symbolize_bench_big.c) share. */
#ifndef TM_SYMBOLIZE_BENCH_H
#define TM_SYMBOLIZE_BENCH_H

#include <stdint.h>

double now(void);
/* FNV-1a over a file's bytes / a string, continuing from h. */
uint64_t hash_file(const char *path, uint64_t h);
uint64_t hash_str(const char *s, uint64_t h);

int big_main(int argc, char **argv);
int big_child(int argc, char **argv);

#endif
