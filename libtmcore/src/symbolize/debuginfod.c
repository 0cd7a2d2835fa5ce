/*
 * Debug info fetched by build-id from debuginfod servers (elfutils'
 * libdebuginfod, which keeps its own cache: DEBUGINFOD_CACHE_PATH), for
 * modules whose debug info is found nowhere locally.  Used only when
 * DEBUGINFOD_URLS is set, as gdb and the elfutils tools do.  A request that
 * lasts shows progress on stderr when it is a terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym_internal.h"
#include "tm_alloc.h"
#include "tm_progress.h"

#ifdef TM_WITH_DEBUGINFOD
#include <elfutils/debuginfod.h>

/* snprintf for notes: a note cut at its buffer's end is still a note. */
static void say(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

struct sym_debuginfod {
    debuginfod_client *client;
    tm_progress progress;
    char what[160];
};

/* Called by libdebuginfod during a transfer: a = bytes so far, b = the total
 * when the server said it (else 0).  Returning nonzero would cancel. */
static int on_progress(debuginfod_client *c, long a, long b)
{
    sym_debuginfod *d = debuginfod_get_user_data(c);
    if (!d)
        return 0;
    if (b > 0)
        d->progress.total = (uint64_t)b;
    tm_progress_tick(&d->progress, a > 0 ? (uint64_t)a : 0);
    return 0;
}
#else
struct sym_debuginfod {
    int unused;
};
#endif

int sym_debuginfod_enabled(void)
{
#ifdef TM_WITH_DEBUGINFOD
    const char *urls = getenv("DEBUGINFOD_URLS");
    return urls && *urls;
#else
    return 0;
#endif
}

void sym_debuginfod_free(sym_debuginfod *d)
{
    if (!d)
        return;
#ifdef TM_WITH_DEBUGINFOD
    tm_progress_end(&d->progress);
    if (d->client)
        debuginfod_end(d->client);
#endif
    tm_free(d);
}

int sym_debuginfod_fetch(char **path, sym_debuginfod **state, const uint8_t *id, uint32_t idlen,
                         const char *module, char *note, size_t notecap)
{
    *path = NULL;
    if (note && notecap)
        note[0] = '\0';
    if (!sym_debuginfod_enabled() || idlen == 0)
        return TM_ENOTFOUND;
#ifdef TM_WITH_DEBUGINFOD
    if (!*state) {
        sym_debuginfod *d = tm_calloc(1, sizeof *d);
        if (!d)
            return TM_ENOMEM;
        d->client = debuginfod_begin();
        if (!d->client) {
            tm_free(d);
            say(note, notecap, "debuginfod: cannot start a client: %s", strerror(errno));
            return TM_EIO;
        }
        debuginfod_set_user_data(d->client, d);
        debuginfod_set_progressfn(d->client, on_progress);
        *state = d;
    }
    sym_debuginfod *d = *state;
    const char *base = strrchr(module, '/');
    say(d->what, sizeof d->what, "debuginfod: fetching debug info of %s", base ? base + 1 : module);
    /* Begun before the request: a fast transfer may end before libdebuginfod
     * calls on_progress at all; the delay keeps cache hits silent. */
    tm_progress_begin(&d->progress, 1, d->what, 0);
    char *found = NULL;
    int fd = debuginfod_find_debuginfo(d->client, id, (int)idlen, &found);
    tm_progress_end(&d->progress);
    if (fd < 0) {
        free(found);
        if (fd == -ENOENT)
            return TM_ENOTFOUND; /* no server has it: not a failure */
        const char *url = debuginfod_get_url(d->client);
        char hex[2 * TM_BUILD_ID_MAX + 1];
        for (uint32_t i = 0; i < idlen && i < TM_BUILD_ID_MAX; i++)
            snprintf(hex + 2 * i, 3, "%02x", id[i]);
        say(note, notecap, "debuginfod failure: build-id %s from %s: %s", hex,
            url && *url ? url : getenv("DEBUGINFOD_URLS"), strerror(-fd));
        return TM_EIO;
    }
    close(fd);
    if (!found)
        return TM_ENOTFOUND;
    *path = tm_strndup(found, strlen(found));
    free(found);
    return *path ? TM_OK : TM_ENOMEM;
#else
    (void)state;
    (void)id;
    (void)module;
    return TM_ENOTFOUND;
#endif
}
