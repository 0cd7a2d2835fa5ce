// The GoogleTest listener of tm/gtest.h: one tm/check.h check per test.
#include "tm/gtest.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <sstream>
#include <string>

#include "tm/check.h"

namespace
{

// Written by the test body through the macros; read when the test ends.
uint64_t g_test_threshold;
bool g_test_has_threshold;
bool g_test_skip;

// Patterns of GoogleTest's own frames: what it records about a test
// (failures, properties) is its bookkeeping, not the test's memory.
const char *const kFrameworkFrames[] = { "^testing::", "libgtest.so", "libgmock.so" };

void fail_setup(const char *what, const tm_error &err)
{
    std::fprintf(stderr, "tmkit gtest: %s: %s\n", what, err.message);
    std::exit(2);
}

// The C and C++ runtimes allocate some things once, at their first use,
// and never free them.  Making them now, before the first check, keeps
// them out of every test.
void warm_up()
{
    std::ostringstream os;
    os << 1 << ' ' << 1.5 << ' ' << true << ' ' << 'c' << std::string("s") << 2u << 3L << 4.5f;
    std::wostringstream wos;
    wos << 1 << L' ' << 1.5;
    std::istringstream is("1 2.5 x");
    int i = 0;
    double d = 0;
    is >> i >> d;
    char buf[128];
    std::snprintf(buf, sizeof buf, "%d %f %g %s %Lf", i, d, 2.5, os.str().c_str(), 1.0L);
    std::time_t now = std::time(nullptr);
    std::tm local;
    localtime_r(&now, &local);
    std::strftime(buf, sizeof buf, "%c", &local);
    std::cout.flush();
    std::cerr.flush();
}

class MemoryCheckListener : public ::testing::EmptyTestEventListener
{
  public:
    void OnTestProgramStart(const ::testing::UnitTest &) override
    {
        const char *on = std::getenv("TM_GTEST_CHECK");
        enabled_ = !(on && std::string(on) == "0");
        tm_error err;
        const char *th = std::getenv("TM_GTEST_THRESHOLD");
        if (th && *th && tm_check_size_parse(&threshold_, th, &err) != TM_OK)
            fail_setup("TM_GTEST_THRESHOLD", err);
        const char *dir = std::getenv("TM_GTEST_SNAPSHOT_DIR");
        opts_.snapshot_dir = dir ? dir : "";
        opts_.ignore_top = kFrameworkFrames;
        opts_.nignore_top = sizeof kFrameworkFrames / sizeof kFrameworkFrames[0];
        warm_up();
        // A broken suppressions file is an error now, not in every test.
        tm_check *c = nullptr;
        if (enabled_ && tm_check_begin(&c, "startup", &opts_, &err) != TM_OK)
            fail_setup("memory check", err);
        tm_check_abandon(c);
    }

    void OnTestStart(const ::testing::TestInfo &info) override
    {
        g_test_has_threshold = false;
        g_test_skip = false;
        check_ = nullptr;
        if (!enabled_)
            return;
        // No std::string here: nothing may be freed between the check's
        // first snapshot and the test.
        std::snprintf(name_, sizeof name_, "%s.%s", info.test_suite_name(), info.name());
        tm_error err;
        if (tm_check_begin(&check_, name_, &opts_, &err) != TM_OK) {
            check_ = nullptr;
            ADD_FAILURE() << "tmkit: " << err.message;
        }
    }

    void OnTestEnd(const ::testing::TestInfo &info) override
    {
        if (!check_)
            return;
        tm_check *c = check_;
        check_ = nullptr;
        if (g_test_skip || info.result()->Skipped()) {
            tm_check_abandon(c);
            return;
        }
        uint64_t limit = g_test_has_threshold ? g_test_threshold : threshold_;
        tm_check_result *r = nullptr;
        tm_error err;
        if (tm_check_end(&r, c, limit, &err) != TM_OK) {
            ADD_FAILURE() << "tmkit: " << err.message;
            return;
        }
        if (tm_check_result_failed(r)) {
            uint32_t line = 0;
            const char *file = tm_check_result_where(r, &line);
            std::string report = tm_check_result_report(r);
            std::string where = file ? file : "";
            tm_check_result_free(r);
            if (!where.empty() && line)
                ADD_FAILURE_AT(where.c_str(), static_cast<int>(line)) << report;
            else
                ADD_FAILURE() << report;
            return;
        }
        tm_check_result_free(r);
    }

    void OnTestProgramEnd(const ::testing::UnitTest &) override
    {
        tm_check_cleanup();
    }

  private:
    bool enabled_ = true;
    uint64_t threshold_ = 0;
    tm_check_options opts_ = TM_CHECK_OPTIONS_INIT;
    tm_check *check_ = nullptr;
    char name_[1024];
};

struct Registrar {
    Registrar()
    {
        ::testing::UnitTest::GetInstance()->listeners().Append(new MemoryCheckListener);
    }
};
Registrar registrar;

} // namespace

// Linking tmkit::gtest passes -u tm_gtest_registered to the linker, which
// brings this object (and so the registrar) out of the static library.
extern "C" {
extern const int tm_gtest_registered;
const int tm_gtest_registered = 1;
}

void tm_gtest_set_threshold(uint64_t bytes)
{
    g_test_threshold = bytes;
    g_test_has_threshold = true;
}

void tm_gtest_skip_check(void)
{
    g_test_skip = true;
}
