/*
 * Private to the recorder: which file /proc/PID/maps says is mapped at an
 * address.  Runs inside malloc hooks (rec_internal.h): plain read(2) into
 * the caller's buffer, no allocation.  A header so that its fuzz target
 * (tests/fuzz/fuzz_maps.c) runs it without linking the recorder, which
 * would interpose the fuzzer's own malloc.
 */
#ifndef TM_REC_MAPS_H
#define TM_REC_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Reads the maps text from fd (buf: bufcap bytes of scratch) and copies the
 * path of the mapping that starts at start into out: 0, or -1 when no line
 * starts there, it names no file (an absolute path shorter than cap), or a
 * line does not fit in buf. */
static inline int tm_maps_path_at(int fd, uintptr_t start, char *buf, size_t bufcap, char *out,
                                  size_t cap)
{
    if (bufcap < 2)
        return -1;
    size_t have = 0;
    int found = -1, eof = 0;
    while (found == -1 && !eof) {
        ssize_t k = read(fd, buf + have, bufcap - 1 - have);
        if (k < 0)
            break;
        eof = k == 0;
        have += (size_t)k;
        size_t pos = 0;
        for (;;) {
            char *nl = memchr(buf + pos, '\n', have - pos);
            if (!nl && !(eof && pos < have))
                break;
            char *line = buf + pos, *end = nl ? nl : buf + have;
            pos = nl ? (size_t)(nl - buf) + 1 : have;
            uintptr_t a = 0;
            char *p = line;
            for (; p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')); p++)
                a = a * 16 + (uintptr_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
            if (a != start || p == line || p >= end || *p != '-')
                continue;
            /* start-end perms offset dev inode, then the path */
            for (int field = 0; field < 5 && p < end; field++) {
                while (p < end && *p != ' ')
                    p++;
                while (p < end && *p == ' ')
                    p++;
            }
            size_t len = (size_t)(end - p);
            found = -2;
            if (p < end && *p == '/' && len < cap) {
                memcpy(out, p, len);
                out[len] = 0;
                found = 0;
            }
            break;
        }
        if (found != -1 || (pos == 0 && have == bufcap - 1))
            break; /* seen, or a line longer than the buffer */
        memmove(buf, buf + pos, have - pos);
        have -= pos;
    }
    return found == 0 ? 0 : -1;
}

#endif
