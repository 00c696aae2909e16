"""Actors: the same speaker merged across articles, and the actor network for Gephi.

Within an article the extraction already resolves pronouns, surnames and descriptions to
a full name. Across articles this stage merges what is plainly one actor:

- names equal after dropping a leading "the", possessives and case ("The ACLU" = "ACLU");
- a one-word person name (a surname) with the only multi-word person name of the run
  ending in it ("Greer" -> "Evan Greer"); with two candidates it stays apart;
- an all-capitals organisation name with the only organisation whose initials it is
  ("ACLU" -> "American Civil Liberties Union"), also using the article-level entity
  canonical names, which pair acronyms with their expansions.

Only persons and organisations become actors; pronouns left unresolved and descriptions
("critics", "a report") do not. The network (GEXF) has actor, organisation and stance nodes;
an actor links to each stance with the number of its quotes of that stance as the weight,
and a person to their organisation.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa

from pipeline.schemas import ACTORS, STANCE_LABELS

ACTOR_TYPES = ("person", "organisation")
_PRONOUNS = frozenset("i me we us he him she her they them it you who this that one".split())
_MINOR = frozenset("of for the and on in to at de la du".split())


def _key(name: str) -> str:
    s = re.sub(r"[’']s\b", "", name.strip())
    s = re.sub(r"^(the|a|an)\s+", "", s, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", s).strip(" .,;:").casefold()


def _display(name: str) -> str:
    s = re.sub(r"^(the|The|THE)\s+", "", name.strip())
    return re.sub(r"\s+", " ", s).strip(" .,;:")


def _initials(name: str) -> str:
    words = [w for w in re.split(r"[\s-]+", name) if w]
    return "".join(w[0] for w in words if w.casefold() not in _MINOR and w[0].isalpha()).upper()


def actor_id(kind: str, name: str) -> str:
    return hashlib.blake2b(f"{kind}\0{_key(name)}".encode("utf-8"), digest_size=8).hexdigest()


def _resolve(names: dict[tuple[str, str], Counter], expansions: dict[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(type, key) -> (type, key of the actor it belongs to)."""
    keys = {t: {k for (tt, k) in names if tt == t} for t in ACTOR_TYPES}
    target: dict[tuple[str, str], tuple[str, str]] = {}
    multi_person = [k for k in keys["person"] if " " in k]
    by_last: dict[str, list[str]] = defaultdict(list)
    for k in multi_person:
        by_last[k.rsplit(" ", 1)[1]].append(k)
    for k in keys["person"]:
        if " " not in k and len(by_last.get(k, [])) == 1:
            target[("person", k)] = ("person", by_last[k][0])
    orgs = keys["organisation"]
    by_initials: dict[str, list[str]] = defaultdict(list)
    for k in orgs:
        shown = names[("organisation", k)].most_common(1)[0][0]
        if " " in k:
            by_initials[_initials(shown)].append(k)
    for k in orgs:
        shown = names[("organisation", k)].most_common(1)[0][0]
        if " " in k or not shown.isupper():
            continue
        expanded = expansions.get(k)
        if expanded and expanded in orgs:
            target[("organisation", k)] = ("organisation", expanded)
        elif len(by_initials.get(shown.upper(), [])) == 1:
            target[("organisation", k)] = ("organisation", by_initials[shown.upper()][0])
    return target


def _acronym_expansions(entities: pa.Table | None) -> dict[str, str]:
    """key of an acronym -> key of the expansion the articles' entity canonical names give."""
    out: dict[str, Counter] = defaultdict(Counter)
    if entities is None or entities.num_rows == 0:
        return {}
    for text, canon, label in zip(entities.column("text").to_pylist(), entities.column("canonical").to_pylist(),
                                  entities.column("label").to_pylist()):
        if label == "ORG" and text.isupper() and _key(canon) != _key(text) and " " in canon:
            out[_key(text)][_key(canon)] += 1
    return {k: c.most_common(1)[0][0] for k, c in out.items()}


def actors_table(quotes: pa.Table, entities: pa.Table | None = None) -> pa.Table:
    rows = [r for r in quotes.to_pylist()
            if r["speaker_name"] and r["speaker_type"] in ACTOR_TYPES and _key(r["speaker_name"])
            and _key(r["speaker_name"]) not in _PRONOUNS]
    names: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in rows:
        names[(r["speaker_type"], _key(r["speaker_name"]))][_display(r["speaker_name"])] += 1
    target = _resolve(names, _acronym_expansions(entities))
    # One name typed as both person and organisation (a parser slip in some article) is one
    # actor, of the type most of its quotes give.
    for key in {k for (_, k) in names}:
        both = [(sum(names[(t, key)].values()), t) for t in ACTOR_TYPES if (t, key) in names]
        if len(both) == 2:
            main = max(both, key=lambda x: (x[0], x[1] == "person"))[1]
            for _, t in both:
                if t != main and (t, key) not in target:
                    target[(t, key)] = target.get((main, key), (main, key))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        k = (r["speaker_type"], _key(r["speaker_name"]))
        groups[target.get(k, k)].append(r)
    out = []
    for (kind, key), members in groups.items():
        shown = Counter(_display(m["speaker_name"]) for m in members)
        # The canonical name: the longest form of the merged names, most frequent first.
        name = max(shown, key=lambda n: (len(n.split()), shown[n], n)) if kind == "person" else \
            max(shown, key=lambda n: (len(n), shown[n], n))
        stances = [m for m in members if m.get("stance")]
        means = {s: (sum(m[f"p_{s}"] for m in stances) / len(stances)) if stances else None for s in STANCE_LABELS}
        orgs = Counter(m["speaker_org"] for m in members if m.get("speaker_org"))
        roles = Counter(m["speaker_role"] for m in members if m.get("speaker_role"))
        out.append({
            "actor_id": actor_id(kind, name), "name": name, "type": kind,
            "organisation": _most_common(orgs) if kind == "person" else None,
            "role": _most_common(roles),
            "aliases": sorted({m["speaker_name"] for m in members}),
            "n_quotes": len(members), "n_articles": len({m["article_id"] for m in members}),
            **{f"n_{s}": sum(1 for m in stances if m["stance"] == s) for s in STANCE_LABELS},
            **{f"p_{s}": (round(v, 6) if v is not None else None) for s, v in means.items()},
            "stance": max(STANCE_LABELS, key=lambda s: (means[s], -STANCE_LABELS.index(s))) if stances else None,
        })
    out.sort(key=lambda r: (-r["n_quotes"], r["name"], r["actor_id"]))
    return ACTORS.from_rows(out)


def _most_common(c: Counter) -> str | None:
    if not c:
        return None
    return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def network_gexf(actors: pa.Table) -> bytes:
    """GEXF 1.2 bytes: actors, organisations and stances as nodes; weighted edges."""
    import networkx as nx

    g = nx.DiGraph()
    for s in STANCE_LABELS:
        g.add_node(f"stance:{s}", label=s, kind="stance")
    for r in actors.to_pylist():
        node = f"actor:{r['actor_id']}"
        g.add_node(node, label=r["name"], kind=r["type"], n_quotes=r["n_quotes"], n_articles=r["n_articles"],
                   stance=r["stance"] or "")
        for s in STANCE_LABELS:
            if r[f"n_{s}"]:
                g.add_edge(node, f"stance:{s}", weight=float(r[f"n_{s}"]), relation="quoted with this stance")
        if r["organisation"]:
            org = f"org:{_key(r['organisation'])}"
            if org not in g:
                g.add_node(org, label=r["organisation"], kind="organisation_of_speaker")
            g.add_edge(node, org, weight=1.0, relation="member of")
    buf = io.BytesIO()
    nx.write_gexf(g, buf)
    return buf.getvalue()
