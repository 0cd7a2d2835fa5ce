// rec_cache: allocations before and after a C++ exception unwinds frames
// that the recorder remembered.
#include <stdexcept>

namespace
{
__attribute__((noinline)) void sink_frames(int depth, void (*cb)(const char *))
{
    if (depth > 0) {
        sink_frames(depth - 1, cb);
    } else {
        cb("before throw");
        throw std::runtime_error("unwind me");
    }
    __asm__ volatile("" ::: "memory");
}
} // namespace

extern "C" void rec_cache_throw(int depth, void (*cb)(const char *));

extern "C" void rec_cache_throw(int depth, void (*cb)(const char *))
{
    try {
        sink_frames(depth, cb);
    } catch (const std::runtime_error &) {
        cb("in catch");
    }
    cb("after catch");
}
