/*
 * symbolize_bench --big: the big-binary case of issue 14.  Generates a C++
 * program of N translation units (templates, STL containers, lambdas and
 * inline functions: ~1.5 MB of DWARF each at gcc -O1 -g), builds it with
 * make -j2 under nice (cached like the small bench's binary, keyed by the
 * sources, the build command and `g++ --version`), then symbolizes 10,
 * 2 500 and 70 000 random .text addresses with tmkit (this program
 * re-executed as --child-tmkit, the library in-process as tmsym uses it),
 * llvm-symbolizer --inlining and addr2line -f -i, each in its own process
 * whose wall time, CPU time (user + sys) and peak RSS wait4 reports;
 * ratios and targets are on CPU time (the machine may be shared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sym_internal.h"
#include "symbolize_bench.h"
#include "tm/symbolize.h"

enum { PARTS = 4 };

static const char unit_head[] = "#include <algorithm>\n#include <deque>\n#include <functional>\n"
                                "#include <map>\n#include <memory>\n#include <set>\n"
                                "#include <sstream>\n#include <string>\n#include <unordered_map>\n"
                                "#include <vector>\n#include \"common.h\"\n";

/* One part of unit u: its own record type and template instances. */
static void gen_part(FILE *f, int u, int p)
{
    int k = (u * PARTS + p) * 3;
    fprintf(f,
            "namespace u%dp%d {\n"
            "struct Rec { int id; std::string name; std::vector<double> vals; };\n"
            "template <typename T, int N> struct Box {\n"
            "  std::vector<T> items;\n"
            "  inline void add(const T &t) { if (items.size() < 1000 + N) items.push_back(t); }\n"
            "  inline T sum() const { T s{}; for (auto &x : items) s = s + x; return s; }\n"
            "};\n"
            "template <int K> static inline int mix(int x) { return (x * (K + 3)) ^ (x >> (K %% 7 "
            "+ 1)); }\n"
            "int run(int n) {\n"
            "  std::map<int, std::string> m; std::unordered_map<std::string, Rec> um;\n"
            "  std::set<long> st; std::deque<int> dq; Box<int, %d> b; Box<double, %d> bd;\n"
            "  for (int i = 0; i < n; i++) { m[i] = std::to_string(mix<%d>(i)); b.add(mix<%d>(i));"
            " bd.add(i * 0.5); dq.push_back(common::twice(i)); }\n"
            "  for (auto &kv : m) { Rec r{kv.first, kv.second, {1.0, 2.0}};"
            " um.emplace(kv.second, std::move(r)); st.insert(kv.first * 3L); }\n"
            "  std::vector<std::unique_ptr<Rec>> v;"
            " for (auto &kv : um) v.push_back(std::make_unique<Rec>(kv.second));\n"
            "  std::sort(v.begin(), v.end(), [](const std::unique_ptr<Rec> &a,"
            " const std::unique_ptr<Rec> &b) { return a->name < b->name; });\n"
            "  std::ostringstream os; for (auto &p : v) os << p->name << p->id;\n"
            "  std::function<int(int)> f = [&](int x) { return mix<%d>(x) + (int)st.size(); };\n"
            "  return (int)(common::walk(m) + b.sum() + (long)bd.sum() + os.str().size() + f(n) +"
            " dq.size());\n"
            "}\n}\n",
            u, p, u * PARTS + p, u * PARTS + p, k, k + 1, k + 2);
}

/* Writes the sources and Makefile into dir.  0 or -1. */
static int gen_big(const char *dir, int nunits)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/common.h", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "#pragma once\nnamespace common {\n"
            "inline int twice(int x) { return 2 * x + (x >> 3); }\n"
            "template <typename M> inline long walk(const M &m) { long s = 0;"
            " for (auto &kv : m) s += kv.first; return s; }\n}\n");
    if (fclose(f) != 0)
        return -1;
    for (int u = 0; u < nunits; u++) {
        snprintf(path, sizeof path, "%s/u%03d.cpp", dir, u);
        if (!(f = fopen(path, "w")))
            return -1;
        fputs(unit_head, f);
        for (int p = 0; p < PARTS; p++)
            gen_part(f, u, p);
        if (fclose(f) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/main.cpp", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    for (int u = 0; u < nunits; u++)
        for (int p = 0; p < PARTS; p++)
            fprintf(f, "namespace u%dp%d { int run(int); }\n", u, p);
    fprintf(f, "int main(int argc, char **) {\n  long s = 0;\n");
    for (int u = 0; u < nunits; u++)
        for (int p = 0; p < PARTS; p++)
            fprintf(f, "  s += u%dp%d::run(argc);\n", u, p);
    fprintf(f, "  return (int)(s & 1);\n}\n");
    if (fclose(f) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/Makefile", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f,
            "OBJS := $(patsubst %%.cpp,%%.o,$(wildcard *.cpp))\n"
            "big: $(OBJS)\n\tg++ -o $@ $(OBJS)\n"
            "%%.o: %%.cpp common.h\n\tg++ -g -O1 -c -o $@ $<\n");
    return fclose(f);
}

/* Hash of every generated file, in a fixed order. */
static uint64_t hash_sources(const char *dir, int nunits, uint64_t h)
{
    char path[4200];
    static const char *const fixed[] = { "common.h", "main.cpp", "Makefile" };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fixed[i]);
        h = hash_file(path, h);
    }
    for (int u = 0; u < nunits; u++) {
        snprintf(path, sizeof path, "%s/u%03d.cpp", dir, u);
        h = hash_file(path, h);
    }
    return h;
}

/* Runs argv (NULL-terminated) with stdin/stdout redirected (NULL: inherit);
 * *secs and *rss_mib from wait4.  0 on exit status 0. */
static int run_measured(char *const *argv, const char *in, const char *out, double *secs,
                        double *cpu, double *rss_mib)
{
    fflush(stdout); /* or the child prints it again */
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if ((in && !freopen(in, "r", stdin)) || (out && !freopen(out, "w", stdout)))
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid)
        return -1;
    *secs = now() - t0;
    *cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
        ru.ru_stime.tv_usec / 1e6;
    *rss_mib = ru.ru_maxrss / 1024.0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* --child-tmkit BIN ADDRS OUT: what tmsym does for one module. */
int big_child(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    FILE *in = fopen(argv[3], "r"), *out = fopen(argv[4], "w");
    if (!in || !out)
        return 2;
    tm_symbolizer *s;
    tm_error err = { 0 };
    if (tm_symbolizer_new(&s, NULL, &err) != TM_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 2;
    }
    unsigned long long a;
    while (fscanf(in, "%llx", &a) == 1) {
        tm_sym_result r;
        if (tm_symbolizer_lookup(&r, s, argv[2], a, &err) != TM_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 2;
        }
        for (size_t k = 0; k < r.nframes; k++)
            fprintf(out, "%s\n%s:%u\n", r.frames[k].function[0] ? r.frames[k].function : "??",
                    r.frames[k].file[0] ? r.frames[k].file : "??", r.frames[k].line);
        fputc('\n', out);
    }
    tm_symbolizer_free(s);
    fclose(in);
    return fclose(out) == 0 ? 0 : 2;
}

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

int big_main(int argc, char **argv)
{
    int nunits = 160, use_cache = 1;
    const char *dir = NULL, *cache = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc)
            cache = argv[++i];
        else if (strcmp(argv[i], "--no-cache") == 0)
            use_cache = 0;
        else if (strcmp(argv[i], "--units") == 0 && i + 1 < argc)
            nunits = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: symbolize_bench --big [--dir DIR] [--cache DIR | --no-cache] "
                    "[--units N]\n");
            return 2;
        }
    }
    if (nunits < 1)
        nunits = 1;
    char tmpl[] = "/tmp/tm-symbench-big.XXXXXX", work[4096], src[4200], path[4300];
    if (dir)
        snprintf(work, sizeof work, "%s/symbolize_bench_big", dir);
    else if (mkdtemp(tmpl))
        snprintf(work, sizeof work, "%s", tmpl);
    else {
        perror("mkdtemp");
        return 2;
    }
    snprintf(src, sizeof src, "%s/src", work);
    if (sh("mkdir -p '%s'%s", src, "") != 0 || gen_big(src, nunits) != 0) {
        fprintf(stderr, "symbolize_bench: cannot write the sources in %s\n", src);
        return 2;
    }
    static const char build_cmd[] = "nice -n 10 make -s -j2 -C '%s' big";
    char bin[4300], cdir[4200] = "", ctime_path[4300] = "";
    snprintf(bin, sizeof bin, "%s/big", src);
    if (use_cache) {
        snprintf(path, sizeof path, "%s/gxxver", work);
        if (sh("g++ --version > '%s' 2>&1%s", path, "") != 0) {
            fprintf(stderr, "symbolize_bench: g++ --version failed\n");
            return 2;
        }
        uint64_t h = hash_file(path, hash_str(build_cmd, hash_sources(src, nunits, 0x6b1d)));
        const char *tmp = getenv("TMPDIR");
        if (cache)
            snprintf(cdir, sizeof cdir, "%s/big-%016llx", cache, (unsigned long long)h);
        else
            snprintf(cdir, sizeof cdir, "%s/tm-symbench-cache/big-%016llx",
                     tmp && *tmp ? tmp : "/tmp", (unsigned long long)h);
        snprintf(ctime_path, sizeof ctime_path, "%s/build-seconds", cdir);
        if (sh("mkdir -p '%s'%s", cdir, "") != 0)
            return 2;
    }
    double tbuild = -1;
    FILE *tf = ctime_path[0] ? fopen(ctime_path, "r") : NULL;
    if (tf) {
        if (fscanf(tf, "%lf", &tbuild) != 1)
            tbuild = -1;
        fclose(tf);
    }
    int from_cache = tbuild >= 0;
    if (from_cache) {
        snprintf(bin, sizeof bin, "%s/big", cdir);
    } else {
        double t0 = now();
        if (sh(build_cmd, src, "") != 0) {
            fprintf(stderr, "symbolize_bench: building %s failed\n", src);
            return 2;
        }
        tbuild = now() - t0;
        if (cdir[0]) {
            /* the time file last: it marks the entry complete */
            snprintf(path, sizeof path, "%s/big", cdir);
            if (sh("cp '%s' '%s.tmp'", bin, path) == 0 && sh("mv '%s.tmp' '%s'", path, path) == 0 &&
                (tf = fopen(ctime_path, "w"))) {
                fprintf(tf, "%.3f\n", tbuild);
                fclose(tf);
            }
        }
    }

    sym_elf *e;
    char note[SYM_NOTE_MAX];
    if (sym_elf_open(bin, &e, note, sizeof note) != TM_OK) {
        fprintf(stderr, "%s\n", note);
        return 2;
    }
    size_t ti = sym_elf_find(e, ".text");
    uint64_t dwarf = 0;
    for (size_t i = 0; i < e->nsections; i++)
        if (e->sections[i].name && strncmp(e->sections[i].name, ".debug_", 7) == 0)
            dwarf += e->sections[i].size;
    if (ti == SIZE_MAX) {
        fprintf(stderr, "%s: no .text\n", bin);
        return 2;
    }
    uint64_t lo = e->sections[ti].addr, size = e->sections[ti].size;
    sym_elf_close(e);
    printf("symbolize_bench --big: %d C++ units, %.1f MB of DWARF, .text %.1f MB (%.0f s to "
           "build%s)\n  binary: %s\n",
           nunits, dwarf / 1e6, size / 1e6, tbuild, from_cache ? ", cached" : "", bin);

    static const long counts[] = { 10, 2500, 70000 };
    int ok = 1;
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        long n = counts[ci];
        char addrs[4300], out_tm[4300], out_llvm[4300], out_a2l[4300], self[4300];
        snprintf(addrs, sizeof addrs, "%s/addrs-%ld.txt", work, n);
        snprintf(out_tm, sizeof out_tm, "%s/tmkit-%ld.out", work, n);
        snprintf(out_llvm, sizeof out_llvm, "%s/llvm-%ld.out", work, n);
        snprintf(out_a2l, sizeof out_a2l, "%s/addr2line-%ld.out", work, n);
        FILE *af = fopen(addrs, "w");
        if (!af)
            return 2;
        uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
        for (long i = 0; i < n; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            fprintf(af, "0x%llx\n", (unsigned long long)(lo + rng % size));
        }
        fclose(af);
        ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
        if (sl <= 0)
            return 2;
        self[sl] = '\0';
        char *tm_argv[] = { self, "--child-tmkit", bin, addrs, out_tm, NULL };
        char obj[4400];
        snprintf(obj, sizeof obj, "--obj=%s", bin);
        char *llvm_argv[] = { "llvm-symbolizer",     obj,          "--inlining",
                              "--functions=linkage", "--demangle", NULL };
        char *a2l_argv[] = { "addr2line", "-f", "-i", "-C", "-e", bin, NULL };
        double t_tm, c_tm, r_tm, t_llvm, c_llvm, r_llvm, t_a2l = -1, c_a2l = -1, r_a2l = -1;
        if (run_measured(tm_argv, NULL, NULL, &t_tm, &c_tm, &r_tm) != 0 ||
            run_measured(llvm_argv, addrs, out_llvm, &t_llvm, &c_llvm, &r_llvm) != 0) {
            fprintf(stderr, "symbolize_bench: a symbolizer failed on %s\n", addrs);
            return 2;
        }
        if (run_measured(a2l_argv, addrs, out_a2l, &t_a2l, &c_a2l, &r_a2l) != 0)
            t_a2l = -1;
        /* wall time, and CPU time (user + sys: less noisy on a shared machine) */
        printf("  %6ld addresses: tmkit %6.3f s (cpu %6.3f) %6.1f MiB | llvm-symbolizer %6.3f s "
               "(cpu %6.3f) %6.1f MiB, %.1fx | addr2line %6.3f s (cpu %6.3f) %6.1f MiB, %.1fx\n",
               n, t_tm, c_tm, r_tm, t_llvm, c_llvm, r_llvm, c_llvm / c_tm, t_a2l, c_a2l, r_a2l,
               c_a2l / c_tm);
        ok &= c_tm <= c_llvm;
        if (n <= 10)
            ok &= c_tm <= 0.3 && r_tm <= 100;
    }
    printf("  target (never slower than llvm-symbolizer; 10 addresses <= 0.3 s, <= 100 MiB): %s\n",
           ok ? "met" : "MISSED");
    if (!dir && sh("rm -rf '%s'%s", work, "") != 0)
        return 2;
    return ok ? 0 : 1;
}
