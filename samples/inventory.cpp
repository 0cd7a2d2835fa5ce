// The README's first example: an ordinary C++ program that knows nothing
// about tmkit, allocating the way C++ programs do — std::vector, std::string,
// std::map, std::make_unique, and strdup from C — with its peak in the
// middle: it loads a batch, builds an index over it, keeps a summary, drops
// the batch and the index, and exits with one block it never freed.
//
//   tmrun --peak -o inventory.tms -- samples/inventory
//   tmstat inventory.peak.tms --by lineno     what was live at the peak
//   tmstat inventory.tms --by lineno          what was still live at exit
//
// With INVENTORY_EXPECT=1 in the environment it also prints on stderr what
// it allocated at each of its own lines, live at the peak and at exit
// ("expect peak|exit LINE COUNT BYTES"), from its own data structures:
// tests/cli/attribution.sh compares that with tmstat's output.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace
{

struct Item {
    std::string name;       // longer than the small-string buffer: on the heap
    std::vector<int> stock; // one block per item
};

using Batch = std::vector<std::unique_ptr<Item>>;
using Index = std::map<std::string, int>;

struct Lines {
    int reserve, make, name, stock, emplace, strdup_, push, banner;
} at;

Batch load_batch(int n)
{
    Batch batch;
    at.reserve = __LINE__ + 1;
    batch.reserve(n);
    for (int i = 0; i < n; i++) {
        at.make = __LINE__ + 1;
        auto item = std::make_unique<Item>();
        at.name = __LINE__ + 1;
        item->name = "warehouse-item-number-" + std::to_string(100000 + i);
        at.stock = __LINE__ + 1;
        item->stock.assign(32, i);
        batch.push_back(std::move(item));
    }
    return batch;
}

Index build_index(const Batch &batch)
{
    Index index;
    for (size_t i = 0; i < batch.size(); i++) {
        at.emplace = __LINE__ + 1;
        index.emplace(batch[i]->name, static_cast<int>(i));
    }
    return index;
}

std::vector<char *> summarize(const Index &index, int every)
{
    std::vector<char *> lines;
    int k = 0;
    for (const auto &entry : index)
        if (k++ % every == 0) {
            at.strdup_ = __LINE__ + 1;
            char *line = strdup(entry.first.c_str());
            at.push = __LINE__ + 1;
            lines.push_back(line);
        }
    return lines;
}

char *make_banner()
{
    at.banner = __LINE__ + 1;
    char *banner = static_cast<char *>(malloc(4096));
    snprintf(banner, 4096, "inventory report");
    return banner;
}

// What this program holds, line by line, computed from its own structures.
void expect(const char *when, const Batch &batch, const Index &index,
            const std::vector<char *> &summary)
{
    using Node = std::_Rb_tree_node<Index::value_type>;
    size_t names = 0, keys = 0, lines = 0;
    for (const auto &item : batch)
        names += item->name.capacity() + 1;
    for (const auto &entry : index)
        keys += entry.first.capacity() + 1;
    for (const char *s : summary)
        lines += strlen(s) + 1;
    size_t n = batch.size();
    std::fprintf(stderr, "expect %s %d 1 4096\n", when, at.banner);
    if (n) {
        std::fprintf(stderr, "expect %s %d 1 %zu\n", when, at.reserve,
                     batch.capacity() * sizeof(batch[0]));
        std::fprintf(stderr, "expect %s %d %zu %zu\n", when, at.make, n, n * sizeof(Item));
        std::fprintf(stderr, "expect %s %d %zu %zu\n", when, at.name, n, names);
        std::fprintf(stderr, "expect %s %d %zu %zu\n", when, at.stock, n,
                     n * batch[0]->stock.capacity() * sizeof(int));
    }
    if (!index.empty())
        std::fprintf(stderr, "expect %s %d %zu %zu\n", when, at.emplace, 2 * index.size(),
                     index.size() * sizeof(Node) + keys);
    if (!summary.empty()) {
        std::fprintf(stderr, "expect %s %d %zu %zu\n", when, at.strdup_, summary.size(), lines);
        std::fprintf(stderr, "expect %s %d 1 %zu\n", when, at.push,
                     summary.capacity() * sizeof(char *));
    }
}

} // namespace

int main()
{
    bool report = std::getenv("INVENTORY_EXPECT") != nullptr;
    char *banner = make_banner();
    std::vector<char *> summary;
    {
        Batch batch = load_batch(20000);
        Index index = build_index(batch);
        summary = summarize(index, 100);
        if (report)
            expect("peak", batch, index, summary); // the peak: everything is live
    }
    std::printf("%s: %zu lines in the summary\n", banner, summary.size());
    for (char *line : summary)
        free(line);
    summary.clear();
    summary.shrink_to_fit();
    if (report)
        expect("exit", Batch(), Index(), summary);
    return 0; // banner is never freed
}
