"""Shared by the export tests: describes snapshots, builds them with the
export_gen helper, and computes what tmexport must print -- independently of
the C code, from the description alone."""
import random
import subprocess


def hexs(s):
    return "-" if s is None else s.encode("utf-8", "surrogateescape").hex() or "-"


class Snap:
    def __init__(self):
        self.frames = []   # (function, file, line, inlined_by)
        self.traces = []   # (size, domain, [frame ids most recent first])
        self.meta = None

    def frame(self, function=None, file=None, line=0, inlined_by=None, offset=0):
        self.frames.append((function, file, line, inlined_by, offset))
        return len(self.frames) - 1

    def trace(self, size, frames, domain=0):
        self.traces.append((size, domain, list(frames)))

    def write(self, gen, path):
        lines = []
        if self.meta:
            t, seq, cur, peak, prog = self.meta
            lines.append("meta %d %d %d %d %s" % (t, seq, cur, peak, hexs(prog)))
        for fn, fl, ln, ib, off in self.frames:
            lines.append("frame %s %s %d %s %d" % (hexs(fn), hexs(fl), ln,
                                                   "-" if ib is None else ib, off))
        for size, dom, fr in self.traces:
            lines.append("trace %d %d %s" % (size, dom, " ".join(map(str, fr))))
        subprocess.run([gen, path], input=("\n".join(lines) + "\n").encode(), check=True)

    # --- the oracle ------------------------------------------------------
    def label(self, f):
        fn, fl, ln, _, _ = self.frames[f]
        if fn:
            return fn
        if fl:
            return "%s:%d" % (fl, ln)
        return "<unknown>"

    def logical(self, frames):
        """Labels oldest first, inline chains expanded outermost first."""
        out = []
        for f in reversed(frames):
            chain = []
            while f is not None:
                chain.append(self.label(f))
                f = self.frames[f][3]
            out.extend(reversed(chain))
        return out or ["<unknown>"]

    def folded(self, by_count=False):
        agg = {}
        for size, _, fr in self.traces:
            key = ";".join(escape(l) for l in self.logical(fr))
            agg[key] = agg.get(key, 0) + (1 if by_count else size)
        return agg

    def total(self):
        return sum(t[0] for t in self.traces)


def escape(label):
    out = []
    for ch in label:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == ";":
            out.append("\\x3b")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7f:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    return "".join(out)


def parse_folded(text):
    agg = {}
    for line in text.splitlines():
        stack, _, weight = line.rpartition(" ")
        assert stack, "line without a weight: %r" % line
        assert stack not in agg, "duplicate stack line: %r" % line
        agg[stack] = int(weight)
    return agg


def random_snap(seed, ntraces=2000, nfuncs=40):
    rng = random.Random(seed)
    s = Snap()
    names = ["fn_%d" % i for i in range(nfuncs)] + ["ns::cls<int, long>::op()", "a;b", "x\\y"]
    for i in range(nfuncs):
        # some frames unsymbolized, some only file:line, some inlined chains
        r = rng.random()
        if r < 0.1:
            s.frame(offset=i)
        elif r < 0.3:
            s.frame(file="src/f%d.c" % (i % 7), line=rng.randint(1, 300), offset=i)
        else:
            outer = None
            if rng.random() < 0.3:
                outer = s.frame(function=rng.choice(names), file="o.c", line=i, offset=i)
            s.frame(function=rng.choice(names), file="i.c", line=i, inlined_by=outer, offset=i)
    n = len(s.frames)
    for _ in range(ntraces):
        depth = rng.randint(0, 8)
        s.trace(rng.choice([0, 1, 16, 24, 100, 4096, 1 << 20]) + rng.randint(0, 64),
                [rng.randrange(n) for _ in range(depth)], domain=rng.randint(0, 2))
    return s
