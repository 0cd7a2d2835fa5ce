/* Expected traces of rec_sites: per (return address, frame index) the live
 * count and bytes that the program itself computed. */
#ifndef REC_EXPECT_H
#define REC_EXPECT_H

#include <stddef.h>
#include <stdint.h>

#include "tm/snapshot.h"

typedef struct rec_site {
    uintptr_t ra; /* absolute return address expected at frame idx */
    unsigned idx; /* frame index (0 = most recent) */
    uint64_t count, size;
    char name[32];
} rec_site;

/* Checks that for every site the snapshot holds exactly count traces of
 * total size whose frame idx is ra; prints every difference to stderr.
 * Returns the number of failed sites. */
int rec_verify(const tm_snapshot *s, const rec_site *sites, size_t n, const char *what);

#endif
