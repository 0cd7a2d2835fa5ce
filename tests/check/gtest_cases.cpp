// GoogleTest cases for tests/check/gtest_checks.sh: each test's memory
// check (tm/gtest.h, linked through tmkit::gtest) must fail or pass as its
// name says.  The script finds the leaking lines by their markers.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tm/gtest.h"

namespace
{
// What the leaking tests keep, so that nothing frees it (an array: a
// vector's own growth would be a second line in the reports).
void *g_kept[64];
size_t g_nkept;
void keep(void *p)
{
    g_kept[g_nkept++ % 64] = p;
}

void __attribute__((noinline)) suppressed_leaker(size_t n)
{
    keep(std::malloc(n)); // marker: suppressed-leak
}
} // namespace

TEST(Leaks, TenBlocks)
{
    for (int i = 0; i < 10; i++)
        keep(std::malloc(1000)); // marker: ten-blocks
}

TEST(Leaks, NewString)
{
    auto *s = new std::string(300, 'x'); // marker: new-string
    keep(s);
}

TEST(Clean, StlTemporariesAndOutput)
{
    std::vector<std::string> v;
    std::map<int, std::string> m;
    for (int i = 0; i < 100; i++) {
        v.push_back(std::string(100, 'a' + i % 26));
        m[i] = std::to_string(i * 1.5);
    }
    std::ostringstream os;
    os << 1.25 << ' ' << v.size() << ' ' << m.size() << std::endl;
    std::cout << "output from a clean test: " << os.str();
    std::printf("printf %d %f %s\n", 42, 2.5, v[3].c_str());
    std::fprintf(stderr, "stderr %s\n", m[7].c_str());
    auto p = std::make_unique<int[]>(1000);
    EXPECT_EQ(v.size(), 100u);
}

// The runtime's first uses: time zone data, wide-character locale caches,
// a thread (its TLS), stderr through iostreams.  Each allocates once and
// keeps it; no test is to blame.
TEST(Clean, FirstUseOfRuntimeFacilities)
{
    std::time_t now = std::time(nullptr);
    std::tm local;
    localtime_r(&now, &local);
    char buf[64];
    std::strftime(buf, sizeof buf, "%c", &local);
    std::wostringstream wos;
    wos << 1.5 << L' ' << 42;
    std::thread t([] { std::cerr << "from a thread " << 2.5 << std::endl; });
    t.join();
    EXPECT_FALSE(wos.str().empty());
}

TEST(Clean, RecordsAProperty)
{
    RecordProperty("note", "gtest keeps this, not the test");
    SUCCEED();
}

TEST(Suppressed, LeakInSuppressedFunction)
{
    suppressed_leaker(4096);
}

TEST(Threshold, WithinItsOwnThreshold)
{
    TM_MEMORY_THRESHOLD(2048);
    keep(std::malloc(1500)); // marker: within-threshold
}

TEST(Threshold, AboveItsOwnThreshold)
{
    TM_MEMORY_THRESHOLD(1024);
    keep(std::malloc(1500)); // marker: above-threshold
}

TEST(Threshold, CheckOff)
{
    TM_MEMORY_CHECK_OFF();
    keep(std::malloc(777));
}

class Fixture : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        buf_ = static_cast<char *>(std::malloc(5000));
    }
    void TearDown() override
    {
        std::free(buf_);
    }
    char *buf_ = nullptr;
};

TEST_F(Fixture, FreedInTearDown)
{
    std::memset(buf_, 1, 5000);
}
