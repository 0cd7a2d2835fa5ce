// C++ allocation sites: every operator new form, sized and aligned deletes.
#include <new>
#include <cstdint>

#include "rec_sites.h"

struct Foo {
    long a, b, c;
};

#define RA() ((uintptr_t)__builtin_return_address(0))

extern "C" __attribute__((noinline)) void s_cxx_new(void)
{
    for (int i = 0; i < 4; i++) {
        Foo *f = new Foo();
        ev_add("cxx_new", RA(), 1, sizeof(Foo), f);
    }
    Foo *gone = new Foo();
    ev_add("cxx_new", RA(), 1, sizeof(Foo), gone);
    ev_free(gone);
    delete gone; // sized delete _ZdlPvm with -fsized-deallocation
}

extern "C" __attribute__((noinline)) void s_cxx_array(void)
{
    for (int i = 0; i < 3; i++) {
        int *a = new int[10];
        ev_add("cxx_array", RA(), 1, 40, a);
    }
    int *gone = new int[5];
    ev_add("cxx_array", RA(), 1, 20, gone);
    ev_free(gone);
    delete[] gone;
}

extern "C" __attribute__((noinline)) void s_cxx_aligned(void)
{
    void *p = ::operator new(100, std::align_val_t(64));
    ev_add("cxx_aligned", RA(), 1, 100, p);
    void *q = ::operator new[](200, std::align_val_t(128));
    ev_add("cxx_aligned", RA(), 1, 200, q);
    void *r = ::operator new(300, std::align_val_t(256), std::nothrow);
    ev_add("cxx_aligned", RA(), 1, 300, r);
    void *g = ::operator new(50, std::align_val_t(64));
    ev_add("cxx_aligned", RA(), 1, 50, g);
    ev_free(g);
    ::operator delete(g, 50, std::align_val_t(64));
    if (((uintptr_t)p & 63) || ((uintptr_t)q & 127) || ((uintptr_t)r & 255))
        __builtin_trap();
}

extern "C" __attribute__((noinline)) void s_cxx_nothrow(void)
{
    int *p = new (std::nothrow) int[7];
    ev_add("cxx_nothrow", RA(), 1, 28, p);
    char *c = new (std::nothrow) char;
    ev_add("cxx_nothrow", RA(), 1, 1, c);
}

extern "C" void s_cxx(void)
{
    s_cxx_new();
    s_cxx_array();
    s_cxx_aligned();
    s_cxx_nothrow();
}
