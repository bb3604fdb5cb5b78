#!/usr/bin/env python3
"""Round trips through MediTrack's chain on the dialect under test: base -> head
-> base -> head gives the head schema again and leaves a foreign table alone;
a database with rows at head, downgraded to each revision and upgraded again,
keeps everything the down revisions can keep (docs/schema.md lists what they
cannot: the first/last split below d9c3da4e9c05, medication_name of unlinked
doses below 03586fa62d43, persons below 35bddb769482, the person of a deleted
medication's dose below ab48726466af, every account, grant, session, token,
throttle and setup row below 5d2e8c1a9f37), on SQLite without any ON DELETE
action firing while tables are rebuilt."""

import copy

import schemalib as L

L.require_tools()


def ids(url, table):
    return [r[0] for r in L.q(url, "SELECT id FROM %s ORDER BY id" % table)]


# ---- empty round trip ------------------------------------------------------------------

try:
    desc = "base -> head -> base -> head (%s)" % L.DIALECT
    url = L.fresh("rt_empty")
    foreign = L.add_foreign_table(url)
    L.upgrade(url)
    L.check_head(desc + ": first head", url)
    L.downgrade(url, "base")
    L.check_eq(desc + ": base leaves no MediTrack table",
               [t for t in L.tables(url) if t in ("persons", "medications", "doses")], [])
    L.check_eq(desc + ": base is empty alembic_version", L.version(url), None)
    L.check_eq(desc + ": foreign table untouched at base", L.foreign_state(url), foreign)
    L.upgrade(url)
    L.check_head(desc + ": second head", url)
    L.check_eq(desc + ": foreign table untouched at head", L.foreign_state(url), foreign)
    L.check_second_run(desc, url)
except RuntimeError as e:
    L.not_ok("empty round trip", str(e)[:800])

# ---- step by step, with rows ------------------------------------------------------------

try:
    desc = "head -> each revision -> base, step by step (%s)" % L.DIALECT
    url = L.fresh("rt_steps")
    L.upgrade(url)
    L.insert_data(url, L.AUTH)
    counts = {t: ids(url, t) for t in ("persons", "medications", "doses")}
    for target in reversed(L.REVS[:-1]):
        L.downgrade(url, "-1")
        L.check_eq(desc + ": at %s" % target, L.version(url), target)
        lvl = L.REVS.index(target)
        if lvl == L.A48:
            L.check_eq(desc + ": the access-control tables are gone at %s" % target,
                       [t for t in L.tables(url) if t in L.AUTH_TABLES], [])
        if lvl >= L.P35:
            L.check_eq(desc + ": persons kept at %s" % target, ids(url, "persons"),
                       counts["persons"])
        L.check_eq(desc + ": medications kept at %s" % target, ids(url, "medications"),
                   counts["medications"])
        L.check_eq(desc + ": doses kept at %s" % target, ids(url, "doses"), counts["doses"])
    L.downgrade(url, "-1")
    L.check_eq(desc + ": at base", L.version(url), None)
except RuntimeError as e:
    L.not_ok("step by step downgrade", str(e)[:800])

for target in ("ab48726466af", "2574915efc76", "44fcd0160844", "d9c3da4e9c05", "03586fa62d43", "35bddb769482",
               "588f4ae43933", "f4162eb18a25", "base"):
    desc = "head -> %s -> head with rows (%s)" % (target, L.DIALECT)
    try:
        url = L.fresh("rt")
        L.upgrade(url)
        foreign = L.add_foreign_table(url)
        model = L.insert_data(url, L.AUTH)
        out = L.downgrade(url, target)
        L.ok(desc + ": downgrade")
        L.check_eq(desc + ": foreign table untouched after the downgrade", L.foreign_state(url),
                   foreign)
        L.upgrade(url)
        after = copy.deepcopy(model)
        if target == "base":
            after["persons"], after["medications"], after["doses"] = {}, {}, {}
            after["auth"] = {}
        else:
            after["level"] = min(L.REVS.index(target), L.AUTH)
            if after["level"] < L.P35:
                after["persons"] = {}
                after["medications"] = {k: (m, None) for k, (m, _) in model["medications"].items()}
        want, ignore = L.expected_head(after)
        L.compare_rows(desc, L.head_rows(url), want, ignore)
        L.check_head(desc, url)
        L.check_eq(desc + ": foreign table untouched", L.foreign_state(url), foreign)
    except RuntimeError as e:
        L.not_ok(desc, str(e)[:800])

L.finish()
