#!/usr/bin/env python3
"""Reads a profile that `protoc --decode perftools.profiles.Profile` printed
as text (the decoding is protoc's, against pprof's schema: this only reads
its text format) and prints facts about it for tests/cli/export_pprof.sh:

  totals        "SAMPLES OBJECTS SPACE": sums of inuse_objects, inuse_space
  leaf-lines    CSV file,line,size,count: the leaf location's innermost Line,
                summed (tmstat --by lineno's grouping)
  leaf-funcs    CSV function,size,count, the same by function name
  inline        one line per Location with several Lines, innermost first:
                "func file:line <- func file:line ..."
  comments      the comments, one a line
  sample-types  "type/unit" per sample type, then "default=TYPE"
  check         that every id a message refers to exists (exit 1 if not)
  top PPROF_TOP TMSTAT_CSV
                pprof -top -unit=B (or of inuse_objects) against tmstat --by
                function --format csv: the same flat values, each under the
                name pprof shortens the function's to (exit 1 if not)

and converts tmstat's CSV (tmstat --format csv) into the same rows:
  tmstat-lines CSV   file,line,size,count (--by lineno)
  tmstat-funcs CSV   function,size,count (--by function)
"""
import csv
import re
import sys


def unescape(s):
    out = bytearray()
    i = 0
    simple = {'n': 10, 't': 9, 'r': 13, '"': 34, "'": 39, '\\': 92, 'a': 7, 'b': 8, 'f': 12,
              'v': 11, '?': 63}
    while i < len(s):
        c = s[i]
        if c != '\\':
            out += c.encode()
            i += 1
            continue
        d = s[i + 1]
        if d in simple:
            out.append(simple[d])
            i += 2
        elif d in '01234567':
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in '01234567':
                j += 1
            out.append(int(s[i + 1:j], 8))
            i = j
        elif d == 'x':
            j = i + 2
            while j < len(s) and j < i + 4 and s[j] in '0123456789abcdefABCDEF':
                j += 1
            out.append(int(s[i + 2:j], 16))
            i = j
        else:
            raise ValueError('unknown escape \\%s' % d)
    return out.decode('utf-8')


def parse(lines):
    """protoc's text format: 'key: value', 'key {', '}'.  A message is a
    dict of lists."""
    root = {}
    stack = [root]
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line == '}':
            stack.pop()
        elif line.endswith('{'):
            key = line[:-1].strip()
            msg = {}
            stack[-1].setdefault(key, []).append(msg)
            stack.append(msg)
        else:
            key, _, value = line.partition(':')
            value = value.strip()
            if value.startswith('"'):
                value = unescape(value[1:-1])
            elif value in ('true', 'false'):
                value = value == 'true'
            else:
                value = int(value)
            stack[-1].setdefault(key.strip(), []).append(value)
    return root


def one(msg, key, default=0):
    v = msg.get(key)
    return v[0] if v else default


def tmstat_rows(path, cols):
    with open(path, newline='', encoding='utf-8') as f:
        rows = [tuple(r[c] for c in cols) for r in csv.DictReader(f)]
    return sorted(rows)


def pprof_top(top_path, csv_path, column):
    """Flat column of `pprof -top` (names as pprof shortens them) against
    tmstat's function statistics."""
    stats = [(int(r[column]), r['filename']) for r in csv.DictReader(
        open(csv_path, newline='', encoding='utf-8'))]
    rows = []
    started = False
    for line in open(top_path, encoding='utf-8'):
        if line.split()[:2] == ['flat', 'flat%']:
            started = True
            continue
        if not started or not line.strip():
            continue
        parts = line.split(None, 5)
        flat = int(parts[0].rstrip('B'))
        name = parts[5].strip()
        if name.endswith(' (inline)'):
            name = name[:-len(' (inline)')]
        if flat:
            rows.append((flat, name))
    bad = []
    left = list(stats)
    for flat, name in rows:
        short = name.lstrip(':')
        hit = [s for s in left if s[0] == flat and short in s[1]]
        if not hit:
            bad.append('pprof %s %d: no tmstat function of that size' % (name, flat))
        else:
            left.remove(hit[0])
    # What tmstat names MODULE+0xOFFSET (no symbol covers it) pprof may name
    # by symbolizing the address itself: such rows pair by size alone.
    for v, n in [x for x in left if re.search(r'\+0x[0-9a-f]+$', x[1])]:
        hit = [b for b in bad if b.endswith(' %d: no tmstat function of that size' % v)]
        if hit:
            bad.remove(hit[0])
            left.remove((v, n))
    bad += ['tmstat %s %d: not in pprof -top' % (n[:60], v) for v, n in left if v]
    for b in bad:
        print(b, file=sys.stderr)
    print('%d functions compared, %d differences' % (len(rows), len(bad)))
    return 1 if bad or not rows else 0


def main():
    what, path = sys.argv[1], sys.argv[2]
    w = csv.writer(sys.stdout, lineterminator='\n')
    if what == 'tmstat-lines':
        w.writerows(tmstat_rows(path, ('filename', 'lineno', 'size', 'count')))
        return 0
    if what == 'tmstat-funcs':
        w.writerows(tmstat_rows(path, ('filename', 'size', 'count')))
        return 0
    if what == 'top':
        return pprof_top(path, sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else 'size')
    with open(path, encoding='utf-8') as f:
        p = parse(f)
    strings = p.get('string_table', [])
    S = lambda i: strings[i]
    funcs = {one(f, 'id'): f for f in p.get('function', [])}
    locs = {one(l, 'id'): l for l in p.get('location', [])}
    maps = {one(m, 'id'): m for m in p.get('mapping', [])}
    samples = p.get('sample', [])

    def line_text(ln):
        fn = funcs[one(ln, 'function_id')]
        return '%s %s:%d' % (S(one(fn, 'name')), S(one(fn, 'filename')), one(ln, 'line'))

    if what == 'totals':
        objs = sum(s['value'][0] for s in samples)
        space = sum(s['value'][1] for s in samples)
        print(len(samples), objs, space)
    elif what in ('leaf-lines', 'leaf-funcs'):
        agg = {}
        for s in samples:
            leaf = locs[s['location_id'][0]]
            lines = leaf.get('line', [])
            if not lines:
                # A native frame without a name: tmstat calls it MODULE+0xOFFSET
                # (OFFSET = address - load bias; the mapping's file_offset is
                # its link-time start).
                m = maps.get(one(leaf, 'mapping_id'))
                if m:
                    off = one(leaf, 'address') - one(m, 'memory_start') + one(m, 'file_offset')
                    name = '%s+0x%x' % (S(one(m, 'filename')), off)
                else:
                    name = '<address>'
                key = (name, 0) if what == 'leaf-lines' else (name,)
            else:
                fn = funcs[one(lines[0], 'function_id')]
                file = S(one(fn, 'filename'))
                if not file and one(leaf, 'mapping_id'):
                    # tmstat's name of a native frame without a line
                    m = maps[one(leaf, 'mapping_id')]
                    file = '%s(%s)' % (S(one(m, 'filename')), S(one(fn, 'name')))
                if what == 'leaf-lines':
                    key = (file, one(lines[0], 'line'))
                else:
                    key = (S(one(fn, 'name')),)
            a = agg.setdefault(key, [0, 0])
            a[0] += s['value'][1]
            a[1] += s['value'][0]
        w.writerows(sorted(tuple(str(k) for k in key) + tuple(str(v) for v in agg[key])
                           for key in agg))
    elif what == 'inline':
        for i in sorted(locs):
            lines = locs[i].get('line', [])
            if len(lines) > 1:
                print(' <- '.join(line_text(ln) for ln in lines))
    elif what == 'comments':
        for c in p.get('comment', []):
            print(S(c))
    elif what == 'sample-types':
        for t in p.get('sample_type', []):
            print('%s/%s' % (S(one(t, 'type')), S(one(t, 'unit'))))
        print('default=%s' % S(one(p, 'default_sample_type')))
    elif what == 'check':
        bad = [] if strings and strings[0] == '' else ['string_table[0] is not ""']
        for s in samples:
            if len(s.get('value', [])) != len(p.get('sample_type', [])):
                bad.append('sample with %d values' % len(s.get('value', [])))
            bad += ['location %d' % l for l in s.get('location_id', []) if l not in locs]
        for l in locs.values():
            m = one(l, 'mapping_id')
            if m and m not in maps:
                bad.append('mapping %d' % m)
            bad += ['function %d' % one(ln, 'function_id') for ln in l.get('line', [])
                    if one(ln, 'function_id') not in funcs]
        for f in funcs.values():
            for k in ('name', 'system_name', 'filename'):
                if one(f, k) >= len(strings):
                    bad.append('string %d' % one(f, k))
        if bad:
            print('dangling references: ' + ', '.join(bad[:10]), file=sys.stderr)
            return 1
    else:
        print('unknown request ' + what, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
