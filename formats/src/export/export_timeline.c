/* Timeline: traced current and peak memory over a series of snapshots, as
 * a standalone SVG picture. */
#include "export_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tm/sample.h"
#include "tm_alloc.h"
#include "tm_estimate.h"

#define TL_W 960.0
#define TL_H 440.0
#define TL_LEFT 86.0
#define TL_RIGHT 24.0
#define TL_TOP 56.0
#define TL_BOTTOM 74.0

typedef struct tl_point {
    size_t index; /* position given by the caller */
    int64_t time_ns;
    uint32_t sequence;
    uint64_t current, peak;
    double x;
} tl_point;

static int tl_by_time(const void *a, const void *b)
{
    const tl_point *p = a, *q = b;
    if (p->time_ns != q->time_ns)
        return p->time_ns < q->time_ns ? -1 : 1;
    return p->index < q->index ? -1 : p->index > q->index;
}

static int tl_by_sequence(const void *a, const void *b)
{
    const tl_point *p = a, *q = b;
    if (p->sequence != q->sequence)
        return p->sequence < q->sequence ? -1 : 1;
    return p->index < q->index ? -1 : p->index > q->index;
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving about n ticks. */
static double tl_nice_step(double range, int n)
{
    if (!(range > 0))
        return 1;
    double raw = range / n, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static void tl_text(FILE *out, double x, double y, const char *anchor, const char *cls,
                    const char *s)
{
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">", x, y, anchor, cls);
    ex_put_xml_text(out, s, strlen(s));
    fputs("</text>\n", out);
}

static uint64_t tl_traced_size(const tm_snapshot *s)
{
    uint64_t rate = tm_snapshot_metadata(s)->sample_rate;
    if (!rate)
        return tm_snapshot_total_size(s);
    const tm_trace *t = tm_snapshot_traces(s);
    double bytes = 0;
    for (size_t i = 0; i < tm_snapshot_trace_count(s); i++)
        bytes += tm_sample_weight(t[i].size, rate) * (double)t[i].size;
    return tm_estimate_u64(bytes);
}

int tm_export_timeline(const tm_snapshot *const *snaps, const char *const *names, size_t n,
                       const tm_export_options *opts_in, FILE *out, tm_error *err)
{
    tm_export_options opts;
    int rc = ex_options(opts_in, &opts, err);
    if (rc)
        return rc;
    if (n == 0)
        return tm_error_set(err, TM_EINVAL, "timeline: no snapshots");
    tl_point *pt = tm_calloc(n, sizeof *pt);
    if (!pt)
        return tm_error_set(err, TM_ENOMEM, "timeline: out of memory for %zu snapshots", n);
    int all_times = 1, seq_differ = 0, sampled = 0;
    for (size_t i = 0; i < n; i++) {
        const tm_metadata *md = tm_snapshot_metadata(snaps[i]);
        pt[i].index = i;
        pt[i].time_ns = md->snapshot_time_ns;
        pt[i].sequence = md->sequence;
        pt[i].current = md->traced_current;
        pt[i].peak = md->traced_peak;
        /* Python dumps carry no process counters: the traces are the truth
         * (of a sample: their estimate, tm/sample.h). */
        if (pt[i].current == 0)
            pt[i].current = tl_traced_size(snaps[i]);
        sampled |= md->sample_rate != 0;
        if (pt[i].peak < pt[i].current)
            pt[i].peak = pt[i].current;
        if (pt[i].time_ns == 0)
            all_times = 0;
        if (i && pt[i].sequence != pt[0].sequence)
            seq_differ = 1;
    }
    if (all_times)
        qsort(pt, n, sizeof *pt, tl_by_time);
    else if (seq_differ)
        qsort(pt, n, sizeof *pt, tl_by_sequence);
    uint64_t ymax_v = 0;
    for (size_t i = 0; i < n; i++) {
        pt[i].x = all_times ? (double)(pt[i].time_ns - pt[0].time_ns) / 1e9
            : seq_differ    ? (double)pt[i].sequence
                            : (double)(i + 1);
        if (pt[i].peak > ymax_v)
            ymax_v = pt[i].peak;
    }

    /* Y axis in the largest binary unit that keeps numbers readable. */
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    double unit = 1;
    while (u < 4 && (double)ymax_v >= unit * 1024 * 2) {
        unit *= 1024;
        u++;
    }
    double ystep = tl_nice_step((double)ymax_v / unit, 5) * unit;
    if (ystep < 1)
        ystep = 1;
    double ymax = ceil((double)ymax_v / ystep) * ystep;
    if (ymax <= 0)
        ymax = ystep;
    double xmin = pt[0].x, xmax = pt[n - 1].x;
    if (xmax <= xmin) {
        xmin -= 1;
        xmax += 1;
    }
    double xstep = tl_nice_step(xmax - xmin, 8);
    if (!all_times && xstep < 1)
        xstep = 1;
    double pw = TL_W - TL_LEFT - TL_RIGHT, ph = TL_H - TL_TOP - TL_BOTTOM;
#define TL_X(v) (TL_LEFT + ((v)-xmin) / (xmax - xmin) * pw)
#define TL_Y(v) (TL_TOP + ph - (double)(v) / ymax * ph)

    const char *title = opts.title ? opts.title : "Traced memory over time";
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            TL_W, TL_H, TL_W, TL_H);
    fputs("<title>", out);
    ex_put_xml_text(out, title, strlen(title));
    fputs("</title>\n<style>\n"
          ".grid { stroke: #ddd; stroke-width: 1; }\n"
          ".axis { stroke: #333; stroke-width: 1; }\n"
          ".tick { fill: #333; }\n"
          ".h1 { font-size: 17px; font-weight: bold; fill: #222; }\n"
          ".lbl { fill: #444; }\n"
          ".current { fill: none; stroke: #1f5fbf; stroke-width: 2; }\n"
          ".peak { fill: none; stroke: #d0302a; stroke-width: 2; stroke-dasharray: 6 3; }\n"
          ".pt-current { fill: #1f5fbf; }\n"
          ".pt-peak { fill: #d0302a; }\n"
          "</style>\n",
          out);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", TL_W,
            TL_H);
    tl_text(out, TL_W / 2, 26, "middle", "h1", title);
    {
        /* One line of context: what ran, and where the highest point is. */
        size_t top = 0;
        for (size_t i = 1; i < n; i++)
            if (pt[i].peak > pt[top].peak)
                top = i;
        const tm_metadata *md = tm_snapshot_metadata(snaps[pt[0].index]);
        const char *prog = tm_snapshot_string(snaps[pt[0].index], md->program, NULL);
        char peak[32], sub[512];
        ex_format_size(peak, sizeof peak, pt[top].peak);
        snprintf(sub, sizeof sub, "%zu snapshot%s%s%s; highest peak %s at %s %g%s", n,
                 n == 1 ? "" : "s", *prog ? " of " : "", prog, peak, all_times ? "t =" : "snapshot",
                 pt[top].x, all_times ? " s" : "");
        tl_text(out, TL_W / 2, 44, "middle", "lbl", sub);
    }

    char buf[128];
    for (double v = 0; v <= ymax + ystep / 2; v += ystep) {
        double y = TL_Y(v);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                TL_LEFT, y, TL_LEFT + pw, y);
        snprintf(buf, sizeof buf, "%g %s", v / unit, units[u]);
        tl_text(out, TL_LEFT - 6, y + 4, "end", "tick", buf);
    }
    double x0 = ceil(xmin / xstep) * xstep;
    for (double v = x0; v <= xmax + xstep / 1000; v += xstep) {
        double x = TL_X(v);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x,
                TL_TOP, x, TL_TOP + ph);
        snprintf(buf, sizeof buf, "%g", fabs(v) < xstep / 1e6 ? 0.0 : v);
        tl_text(out, x, TL_TOP + ph + 16, "middle", "tick", buf);
    }
    fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            TL_LEFT, TL_TOP + ph, TL_LEFT + pw, TL_TOP + ph);
    fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            TL_LEFT, TL_TOP, TL_LEFT, TL_TOP + ph);
    tl_text(out, TL_LEFT + pw / 2, TL_TOP + ph + 36, "middle", "lbl",
            all_times ? "seconds since the first snapshot" : "snapshot");

    static const char *const series[2] = { "current", "peak" };
    for (int s = 1; s >= 0; s--) {
        fprintf(out, "<polyline id=\"%s\" class=\"%s\" points=\"", series[s], series[s]);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%s%.2f,%.2f", i ? " " : "", TL_X(pt[i].x),
                    TL_Y(s ? pt[i].peak : pt[i].current));
        fputs("\"/>\n", out);
    }
    for (size_t i = 0; i < n; i++) {
        const char *nm = names && names[pt[i].index] ? names[pt[i].index] : "";
        char cur[32], peak[32];
        ex_format_size(cur, sizeof cur, pt[i].current);
        ex_format_size(peak, sizeof peak, pt[i].peak);
        for (int s = 0; s < 2; s++) {
            fprintf(out,
                    "<circle class=\"pt-%s\" cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" "
                    "data-snapshot=\"",
                    series[s], TL_X(pt[i].x), TL_Y(s ? pt[i].peak : pt[i].current));
            ex_put_xml_text(out, nm, strlen(nm));
            fprintf(out,
                    "\" data-time-ns=\"%lld\" data-current=\"%llu\" data-peak=\"%llu\"><title>",
                    (long long)pt[i].time_ns, (unsigned long long)pt[i].current,
                    (unsigned long long)pt[i].peak);
            ex_put_xml_text(out, nm, strlen(nm));
            snprintf(buf, sizeof buf, "%s%s %g%s: current %s, peak %s", *nm ? ": " : "",
                     all_times ? "t =" : "snapshot", pt[i].x, all_times ? " s" : "", cur, peak);
            ex_put_xml_text(out, buf, strlen(buf));
            fputs("</title></circle>\n", out);
        }
    }
    double lx = TL_LEFT + 10, ly = TL_H - 16;
    fprintf(out, "<line class=\"current\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", lx,
            ly - 4, lx + 28, ly - 4);
    tl_text(out, lx + 34, ly, "start", "lbl", "traced current");
    fprintf(out, "<line class=\"peak\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            lx + 160, ly - 4, lx + 188, ly - 4);
    tl_text(out, lx + 194, ly, "start", "lbl", "traced peak");
    if (sampled)
        tl_text(out, lx + 320, ly, "start", "lbl",
                "sampled snapshots (tmrun --sample): their values are estimates");
    fputs("</svg>\n", out);
#undef TL_X
#undef TL_Y
    tm_free(pt);
    return ex_check_stream(out, NULL, err);
}
