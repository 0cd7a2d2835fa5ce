/* Attach mode (attach.c, got.c): private to the recorder. */
#ifndef TM_REC_ATTACH_H
#define TM_REC_ATTACH_H

#include <dlfcn.h>
#include <stdint.h>

#include "rec_internal.h"

/* Finds our hooks' addresses (and whether the program's operator new is
 * libstdc++'s).  Calls dladdr/dlopen/dlsym, which take the loader's lock:
 * never with the attach lock held (a thread inside dlopen, holding the
 * loader's lock, may be waiting for it in tm_attach_after_load).  0 or -1. */
TM_HIDDEN int tm_got_hooks_resolve(void);
/* Rewrites the GOT entries of the traced symbols in every loaded module
 * not rewritten yet (all but this library, the dynamic loader and the
 * vDSO); returns how many entries were rewritten in all, or -ENOMEM,
 * -ENOENT (tm_got_hooks_resolve not done).  Under the attach lock; takes no
 * loader lock but dl_iterate_phdr's. */
TM_HIDDEN int tm_got_patch_all(void);
/* Puts back every saved entry of the modules still loaded. */
TM_HIDDEN void tm_got_restore_all(void);

/* The dlopen/dlmopen the GOT entries point to while attached
 * (attach_dlopen.c), and what they call once a module is loaded. */
TM_HIDDEN void tm_attach_after_load(void *handle);
TM_HIDDEN void *tm_attach_dlopen(const char *file, int mode);
TM_HIDDEN void *tm_attach_dlmopen(Lmid_t ns, const char *file, int mode);

#endif
