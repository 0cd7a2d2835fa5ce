/* dlopen a plugin, allocate through it, dlclose it: the blocks stay live
 * and their frames must still name the plugin (path + build-id) in the
 * snapshot written at exit. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    for (int round = 0; round < 2; round++) {
        void *h = dlopen(argv[1], RTLD_NOW);
        if (!h) {
            fprintf(stderr, "rec_dlopen: %s\n", dlerror());
            return 1;
        }
        void *(*fn)(size_t) = (void *(*)(size_t))dlsym(h, "plugin_alloc");
        for (int i = 0; fn && i < 3; i++)
            fn(4242);
        dlclose(h);
    }
    return 0;
}
