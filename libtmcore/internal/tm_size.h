/*
 * tmkit's one parser of sizes written by people: the tmstat/tmdiff gates,
 * the memory checks' thresholds, tmrun --sample and TM_SAMPLE.
 */
#ifndef TM_SIZE_H
#define TM_SIZE_H

#include <stddef.h>
#include <stdint.h>

#define TM_SIZE_PCT_SCALE UINT64_C(1000000) /* percentages: percent * 10^6 */

/* Parses SIZE: a decimal number (up to 6 decimals) with an optional unit
 * B, K/KiB, M/MiB, G/GiB, T/TiB (case-insensitive, 1024-based, one space
 * allowed before it), rounded to the nearest byte.  SI spellings (kB, MB,
 * ...) are refused as ambiguous.  With pct non-NULL a percentage "N%" is
 * accepted too: then *pct gets percent * TM_SIZE_PCT_SCALE and *is_pct 1.
 * Never allocates (the recorder parses TM_SAMPLE inside its first malloc
 * hook).  On error writes a message naming text (without the option name)
 * to msg and returns -1. */
int tm_size_parse(uint64_t *bytes, int *is_pct, uint64_t *pct, const char *text, char *msg,
                  size_t msglen);

#endif
