/* A plugin that allocates, loaded and unloaded by rec_dlopen. */
#include <stdlib.h>

__attribute__((visibility("default"))) void *plugin_alloc(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::"r"(p) : "memory"); /* keep the call a call */
    return p;
}
