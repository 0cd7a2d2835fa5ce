// C++ allocation forms for rec_attach_target.c: operator new[] / delete[].
#include <cstddef>

extern "C" __attribute__((noinline)) void *rec_attach_new_array(std::size_t n)
{
    return new char[n]; // the known site: rec_attach_new_line
}
extern "C" const int rec_attach_new_line = __LINE__ - 2;

extern "C" __attribute__((noinline)) void *rec_attach_churn_new(std::size_t n)
{
    return new char[n];
}

extern "C" __attribute__((noinline)) void rec_attach_churn_delete(void *p)
{
    delete[] static_cast<char *>(p);
}
