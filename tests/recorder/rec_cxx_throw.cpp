// operator new failures under the recorder: bad_alloc thrown and caught
// (libstdc++'s own operator is called outside the hook guard), nothrow
// forms return null, and containers work; run under tmrun by rec_preload.sh.
#include <new>
#include <cstdio>
#include <vector>
#include <string>
#include <map>
// Direct operator calls and a volatile sink: a new-expression whose result
// is unused may be elided by the compiler (clang does).
static void *volatile sink;

int main()
{
    volatile size_t huge = (size_t)1 << 62; // runtime value: no compile-time size error
    int caught = 0;
    try {
        sink = ::operator new[](huge);
    } catch (const std::bad_alloc &) {
        caught++;
    }
    try {
        void *p = ::operator new(huge, std::align_val_t(64));
        (void)p;
    } catch (const std::bad_alloc &) {
        caught++;
    }
    void *q = ::operator new[](huge, std::nothrow);
    sink = q;
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 1000; i++)
        m[std::to_string(i)].resize(i % 50);
    printf("caught %d, nothrow %s, map %zu\n", caught, q ? "non-null" : "null", m.size());
    return caught == 2 && !q ? 0 : 1;
}
