// C++ test program for the symbolizer: namespaces, classes, templates,
// virtual calls, constructors (C1/C2 aliases), anonymous namespace,
// operators, inlined methods.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

volatile int sink;

namespace geo
{
struct Point {
    int x, y;
    Point(int a, int b) : x(a), y(b)
    {
        sink += a;
    }
    Point operator+(const Point &o) const
    {
        return Point(x + o.x, y + o.y);
    }
    int norm1() const
    {
        return (x < 0 ? -x : x) + (y < 0 ? -y : y);
    }
};

class Shape
{
  public:
    virtual ~Shape()
    {
    }
    virtual int area() const = 0;
};

class Rect : public Shape
{
  public:
    Rect(int w, int h) : w_(w), h_(h)
    {
    }
    int area() const override
    {
        return w_ * h_ + (int)(sink & 1);
    }

  private:
    int w_, h_;
};

template <typename T> __attribute__((noinline)) T accumulate(const std::vector<T> &v)
{
    T s = T();
    for (const T &e : v)
        s = s + e;
    return s;
}
} // namespace geo

namespace
{
__attribute__((noinline)) int hidden(int n)
{
    geo::Point p(n, -n);
    return (p + geo::Point(1, 2)).norm1();
}
} // namespace

static __attribute__((noinline)) int use_shape(const geo::Shape &s)
{
    return s.area();
}

int main(int argc, char **)
{
    std::vector<int> v;
    for (int i = 0; i < argc + 5; i++)
        v.push_back(i * hidden(i));
    geo::Rect r(argc, 3);
    int total = geo::accumulate(v) + use_shape(r);
    std::vector<double> d(4, 1.5);
    total += (int)geo::accumulate(d);
    std::string s = std::to_string(total);
    std::printf("%s\n", s.c_str());
    return 0;
}
