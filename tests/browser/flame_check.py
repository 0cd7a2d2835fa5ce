"""Checks a tmexport flame graph page without a browser: strict HTML
structure, the embedded SVG as XML, no network references, and the data
block against an oracle.  Used by tests/cli/export_flamegraph.sh."""
import json
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class Strict(HTMLParser):
    """html.parser is lenient; this one insists that every element is closed
    in order, that nothing follows </html>, and records titles and data."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.doctype = [], [], False
        self.texts = {}
        self.closed_html = False

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        if self.closed_html:
            self.errors.append("<%s> after </html>" % tag)
        for k, v in attrs:
            if k in ("src", "href") or (v and re.search(r"\burl\(", v)):
                self.errors.append("external reference %s=%r" % (k, v))
        if tag not in VOID:
            self.stack.append((tag, dict(attrs).get("id") or tag))

    def handle_startendtag(self, tag, attrs):
        if tag not in VOID and tag not in ("rect", "line", "polyline", "circle", "path"):
            self.errors.append("self-closing <%s/>" % tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append("end tag for void <%s>" % tag)
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1][0] if self.stack else "nothing"))
            return
        self.stack.pop()
        if tag == "html":
            self.closed_html = True

    def handle_data(self, data):
        """Text by the id (or tag) of the element that directly holds it."""
        if self.stack:
            key = self.stack[-1][1]
            self.texts[key] = self.texts.get(key, "") + data


def parse_page(path):
    text = open(path, encoding="utf-8").read()   # must be valid UTF-8
    p = Strict()
    p.feed(text)
    p.close()
    errs = list(p.errors)
    if not p.doctype:
        errs.append("no <!DOCTYPE html>")
    if p.stack:
        errs.append("unclosed elements: %s" % [t for t, _ in p.stack])
    if re.search(r"https?://(?!www\.w3\.org/2000/svg)", text):
        errs.append("page mentions a network URL")
    m = re.search(r"<svg\b.*?</svg>", text, re.S)
    if not m:
        errs.append("no <svg> element")
    else:
        try:
            ET.fromstring(m.group(0))
        except ET.ParseError as e:
            errs.append("embedded SVG is not XML: %s" % e)
    if errs:
        raise SystemExit("%s: %s" % (path, "; ".join(errs)))
    return text, p, json.loads(p.texts["tm-data"])


def decode(data):
    """Preorder nodes -> list of dicts with path (labels) and values."""
    A, S, L = data["nodes"], data["stride"], data["labels"]
    assert len(A) % S == 0
    nodes, stack = [], []
    for i in range(len(A) // S):
        rec = A[i * S:(i + 1) * S]
        label = "all" if rec[0] < 0 else L[rec[0]]
        if i == 0:
            assert rec[0] == -1, "first node is not the root"
            path = ()
            par = None
        else:
            assert stack, "node %d has no parent left" % i
            par = stack[-1][0]
            stack[-1][1] -= 1
            if stack[-1][1] == 0:
                stack.pop()
            path = nodes[par]["path"] + (label,)
        nd = {"path": path, "parent": par, "w": rec[2], "vals": rec[3:], "children": []}
        nodes.append(nd)
        if par is not None:
            nodes[par]["children"].append(i)
        if rec[1] > 0:
            stack.append([i, rec[1]])
    assert not stack, "children promised but missing"
    # inclusive values are consistent and siblings are distinct
    for nd in nodes:
        kids = [nodes[c] for c in nd["children"]]
        assert len({k["path"][-1] for k in kids}) == len(kids), "duplicate sibling labels"
        assert nd["w"] >= sum(k["w"] for k in kids), "width smaller than children at %r" % (nd["path"],)
        for j in range(len(nd["vals"])):
            assert nd["vals"][j] >= sum(k["vals"][j] for k in kids)
    return nodes


def self_values(nodes, j):
    """{path: self value j} for nodes with a non-zero self part."""
    out = {}
    for nd in nodes:
        v = nd["vals"][j] - sum(nodes[c]["vals"][j] for c in nd["children"])
        if v:
            out[nd["path"]] = v
    return out
