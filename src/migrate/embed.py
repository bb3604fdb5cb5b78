#!/usr/bin/env python3
"""Embeds migrations/ into the binary: writes a C file holding every revision
file and SQL file of migrations/<rev>_<slug>/, for chain.c to parse at run
time. Run by meson (src/migrate/meson.build) with a depfile that lists every
file and directory read, so adding or editing a revision rebuilds the binary
without reconfiguring. Refuses a broken chain (unknown down_revision,
duplicate id, more than one head, missing dialect) so the build stops.

Usage: embed.py MIGRATIONS_DIR OUTPUT.c DEPFILE
"""
import os
import re
import sys

# The helpers shared with the other embedding script (src/core/embed_c.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core"))
from embed_c import c_bytes, write_generated  # noqa: E402

DIALECTS = ("sqlite", "postgresql", "mysql")
KEYS = {"id", "revision", "down_revision", "message", "create_date", "transactional",
        "pre_upgrade", "post_upgrade", "pre_downgrade", "post_downgrade"}
ID_RE = re.compile(r"^[0-9A-Za-z_]{1,32}$")
SQL_RE = re.compile(r"^(up|down)(\.(sqlite|postgresql|mysql))?\.sql$")


def fail(msg):
    sys.stderr.write("embed.py: %s\n" % msg)
    sys.exit(1)


def parse_revision(dirname, text):
    meta = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            fail("%s/revision line %d: expected \"key: value\"" % (dirname, n))
        key, val = line.split(":", 1)
        key, val = key.strip(), val.strip()
        if key not in KEYS:
            fail("%s/revision line %d: unknown key %r" % (dirname, n, key))
        if key == "revision":
            key = "id"
        if key in meta:
            fail("%s/revision line %d: %r given twice" % (dirname, n, key))
        meta[key] = val
    if not ID_RE.match(meta.get("id", "")):
        fail("%s/revision: missing or invalid id" % dirname)
    if "down_revision" not in meta:
        fail("%s/revision: missing down_revision (leave it empty for the base)" % dirname)
    return meta


def collect(root):
    """Returns (files, deps): files is a sorted list of (relpath, bytes)."""
    files, deps, revs = [], [], []
    if not os.path.isdir(root):
        return files, deps, revs
    deps.append(root)
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if name.startswith(".") or not os.path.isdir(d):
            continue
        deps.append(d)
        if not os.path.isfile(os.path.join(d, "revision")):
            continue
        entry = {"dir": name, "sql": set()}
        for fname in sorted(os.listdir(d)):
            path = os.path.join(d, fname)
            if not os.path.isfile(path):
                continue
            if fname != "revision" and not fname.endswith(".sql"):
                continue
            if fname.endswith(".sql") and not SQL_RE.match(fname):
                fail("%s: unknown SQL file %r" % (name, fname))
            with open(path, "rb") as f:
                data = f.read()
            if b"\0" in data:
                fail("%s/%s contains a NUL byte" % (name, fname))
            files.append(("%s/%s" % (name, fname), data))
            deps.append(path)
            if fname == "revision":
                entry["meta"] = parse_revision(name, data.decode("utf-8"))
            else:
                entry["sql"].add(fname)
        revs.append(entry)
    return files, deps, revs


def validate(revs):
    ids = {}
    for r in revs:
        rid = r["meta"]["id"]
        if rid in ids:
            fail("duplicate revision id %s (in %s and %s)" % (rid, ids[rid], r["dir"]))
        ids[rid] = r["dir"]
        for kind in ("up", "down"):
            for d in DIALECTS:
                if "%s.sql" % kind not in r["sql"] and "%s.%s.sql" % (kind, d) not in r["sql"]:
                    fail("revision %s (%s): no %s SQL for %s" % (rid, r["dir"], kind, d))
    children = {}
    bases = []
    for r in revs:
        down = r["meta"]["down_revision"]
        if not down:
            bases.append(r["meta"]["id"])
            continue
        if down not in ids:
            fail("revision %s: unknown down_revision %s" % (r["meta"]["id"], down))
        children.setdefault(down, []).append(r["meta"]["id"])
    if revs and len(bases) != 1:
        fail("expected exactly one base revision, found %d: %s" % (len(bases), ", ".join(bases)))
    for parent, kids in children.items():
        if len(kids) > 1:
            fail("more than one head: %s all follow %s" % (", ".join(kids), parent))
    seen, at = 0, bases[0] if bases else None
    while at is not None:
        seen += 1
        kids = children.get(at)
        at = kids[0] if kids else None
    if seen != len(revs):
        fail("the chain has a cycle")


def main():
    if len(sys.argv) != 4:
        fail("usage: embed.py MIGRATIONS_DIR OUTPUT.c DEPFILE")
    root, out, depfile = sys.argv[1:]
    files, deps, revs = collect(root)
    validate(revs)
    lines = [
        "/* Generated by src/migrate/embed.py from %s: do not edit. */" % os.path.basename(root),
        "#include \"migrate/mig_int.h\"",
        "",
    ]
    for i, (_, data) in enumerate(files):
        lines.append("static const char f%d[] = {\n%s\n};" % (i, c_bytes(data)))
    lines.append("")
    lines.append("const struct mig_embedded_file mig_embedded_files[] = {")
    for i, (path, data) in enumerate(files):
        lines.append("    {\"%s\", f%d, %d}," % (path.replace("\\", "\\\\").replace("\"", "\\\""),
                                                 i, len(data)))
    if not files:
        lines.append("    {0, 0, 0},")
    lines.append("};")
    lines.append("const size_t mig_embedded_n_files = %d;" % len(files))
    if not deps:
        # No migrations/ yet: watch its parent, so creating it triggers a run.
        deps.append(os.path.dirname(os.path.abspath(root)))
    write_generated(out, lines, depfile, deps)


if __name__ == "__main__":
    main()
