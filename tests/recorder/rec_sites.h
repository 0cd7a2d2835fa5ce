#ifndef REC_SITES_H
#define REC_SITES_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Records one allocation of `size` bytes at ptr, expected with return
 * address ra at frame idx of its stack. */
void ev_add(const char *name, uintptr_t ra, unsigned idx, size_t size, void *ptr);
void ev_free(void *ptr);
void s_cxx(void);
#ifdef __cplusplus
}
#endif
#endif
