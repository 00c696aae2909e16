"""Each reader on the real seeds and corpus (read in place from ../shared) and on small inputs of ours."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.config import IngestParams
from pipeline.ingest.identity import article_id
from pipeline.ingest.normalize import canonical_url, clean_text
from pipeline.ingest.reader import read_file

P = IngestParams()


def _read(path: Path):
    return read_file(str(path), path, P)


def test_front_matter_seed_gives_record_and_related_articles(shared):
    res = _read(shared / "seeds" / "000_28f8a13669a1b60c.txt")
    assert res.quarantined == []
    parent, *related = res.articles
    assert parent["input_kind"] == "frontmatter"
    assert parent["title"] == "CBP’s Outgoing Biometrics Lead on Law Enforcement Use of Facial Recognition"
    assert parent["excerpt"].startswith("Law enforcement should be careful")
    assert parent["text"] == parent["title"] + "\n\n" + parent["excerpt"]
    assert parent["url"].startswith("https://www.nextgov.com/cio-briefing/2020/07/")
    assert parent["published"] == dt.datetime(2020, 7, 2, 19, 21, tzinfo=dt.timezone.utc)
    assert (parent["provider"], parent["domain"]) == ("Nextgov", "nextgov.com")
    assert parent["topics"] == ["Computer Vision", "AI"]
    assert parent["related_to"] is None
    assert [r["url"] for r in related] == [
        "https://allafrica.com/stories/202007070165.html",
        "https://rabble.ca/columnists/2020/07/facial-recognition-technology-one-most-racist-weapons-police-arsenal",
    ]
    for i, r in enumerate(related):
        assert r["input_kind"] == "related"
        assert r["related_to"] == parent["article_id"]
        assert r["sources"][0]["item"] == f"related[{i}]"
        assert r["published"] is not None and r["provider"] and r["domain"]
    assert related[0]["provider"] == "AllAfrica.com"


def test_plain_text_seed_is_kept_whole(shared):
    path = shared / "seeds" / "004_7d96922bd44ebb31.txt"
    res = _read(path)
    assert res.quarantined == []
    (art,) = res.articles
    raw = path.read_text(encoding="utf-8")
    assert art["input_kind"] == "plaintext"
    assert art["text"] == unicodedata.normalize("NFC", raw).strip()
    assert art["title"] is None and art["url"] is None
    assert "“The companies that stand to profit" in art["text"]  # quotation marks as written
    assert art["article_id"] == article_id(None, art["text"])


def test_every_corpus_record_and_its_related_entries_ingest(shared):
    records = sorted((shared / "corpus" / "records").glob("*.md"))
    assert len(records) >= 30
    for path in records:
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        res = _read(path)
        assert res.quarantined == [], path.name
        parent, *related = res.articles
        assert parent["title"] == clean_text(meta["title"])
        assert parent["excerpt"] == clean_text(meta["excerpt"])
        assert parent["url"] == meta["webUrl"]
        assert parent["published"] is not None
        assert len(related) == len(meta.get("related") or [])
        assert {r["url"] for r in related} == {e["webUrl"] for e in meta.get("related") or []}
        assert all(r["related_to"] == parent["article_id"] for r in related)


def test_items_jsonl_ingests_whole_with_every_url(shared):
    path = shared / "corpus" / "items.jsonl"
    res = _read(path)
    assert res.quarantined == []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(res.articles) == len(lines)
    assert [a["url"] for a in res.articles] == [row["url"] for row in lines]
    assert all(a["published"] is not None for a in res.articles)
    assert [a["source_line"] for a in res.articles] == list(range(1, len(lines) + 1))


def test_csv_with_aliases_html_and_quoted_fields(tmp_path):
    p = tmp_path / "feed.csv"
    p.write_text(
        'Link,Headline,Body,Date,Source\n'
        'https://a.example/1,"Council, again","<p>She said &ldquo;no&rdquo;, twice.</p>",2021-05-01,Ledger\n'
        '"https://a.example/2","Multi\nline",plain body,not a date,Ledger\n',
        encoding="utf-8",
    )
    res = _read(p)
    assert res.quarantined == []
    a, b = res.articles
    assert a["text"] == "Council, again\n\nShe said “no”, twice."
    assert a["source_line"] == 2 and b["source_line"] == 3
    assert b["title"] == "Multi\nline" and b["published"] is None
    assert any("cannot parse date" in w for w in b["warnings"])
    assert a["domain"] == "a.example"


def test_semicolon_csv_and_tsv(tmp_path):
    p = tmp_path / "feed.csv"
    p.write_text("title;text\nT;Body one\n", encoding="utf-8")
    t = tmp_path / "feed.tsv"
    t.write_text("title\ttext\nT\tBody two\n", encoding="utf-8")
    assert _read(p).articles[0]["text"] == "T\n\nBody one"
    assert _read(t).articles[0]["text"] == "T\n\nBody two"


def test_parquet_with_timestamp_column(tmp_path):
    p = tmp_path / "a.parquet"
    table = pa.table({
        "url": ["https://b.example/x", None],
        "title": ["One", "Two"],
        "excerpt": ["First lead", "Second lead"],
        "published": pa.array([dt.datetime(2022, 1, 2, 3, 4), None], pa.timestamp("s")),
    })
    pq.write_table(table, p)
    res = _read(p)
    assert res.quarantined == []
    one, two = res.articles
    assert one["published"] == dt.datetime(2022, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    assert one["article_id"] == article_id(canonical_url("https://b.example/x", P.tracking_params), "")
    assert two["url"] is None and two["source_line"] == 2


def test_json_array_and_nested_provider(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps([
        {"webUrl": "https://c.example/1", "title": "T", "excerpt": "E",
         "provider": {"name": "Outlet", "domain": "c.example"}},
    ]), encoding="utf-8")
    (art,) = _read(p).articles
    assert (art["provider"], art["domain"], art["url"]) == ("Outlet", "c.example", "https://c.example/1")


def test_front_matter_record_with_body(tmp_path):
    p = tmp_path / "r.md"
    p.write_text(
        '---\ntitle: "Ban passes"\nexcerpt: "The council voted"\nwebUrl: "https://d.example/x?utm_source=a"\n'
        "publishedDateTime: 2021-01-01T00:00:00Z\n---\n\nThe council voted 6-1 on Thursday.\n\n---\n\nMore.\n",
        encoding="utf-8",
    )
    (art,) = _read(p).articles
    # the excerpt is the body's opening, so it is not repeated; a later --- line stays in the body
    assert art["text"] == "Ban passes\n\nThe council voted 6-1 on Thursday.\n\n---\n\nMore."
    assert art["canonical_url"] == "https://d.example/x"


def _stringify(value):
    import datetime as _dt
    if isinstance(value, dict):
        return {str(k): _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, _dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return None if value is None else str(value)


def test_event_yaml_loader_agrees_with_safe_load_on_every_record(shared):
    from frontmatter.default_handlers import YAMLHandler

    from pipeline.ingest.frontmatter import load_yaml

    paths = sorted((shared / "corpus" / "records").glob("*.md")) + [shared / "seeds" / "000_28f8a13669a1b60c.txt"]
    paths += sorted((Path(__file__).parents[1] / "data" / "sample" / "records").glob("*.md"))
    for path in paths:
        fm, _ = YAMLHandler().split(path.read_text(encoding="utf-8"))
        ours, reference = load_yaml(fm), _stringify(yaml.safe_load(fm))
        assert ours.keys() == reference.keys(), path.name
        for key in ("title", "excerpt", "webUrl"):
            assert ours.get(key) == reference.get(key), (path.name, key)
        assert [r.get("webUrl") for r in ours.get("related") or []] == \
            [r.get("webUrl") for r in reference.get("related") or []]


def test_event_yaml_loader_nulls_and_refusals():
    from pipeline.ingest.frontmatter import DisallowedTag, HostileYAML, load_yaml

    assert load_yaml('a:\nb: null\nc: "null"\nd: ~\ne: \'\'\nf: 12\ng: [x, ""]\n') == {
        "a": None, "b": None, "c": "null", "d": None, "e": "", "f": "12", "g": ["x", ""]}
    for bad, exc in [("a: !!binary aGVsbG8=", DisallowedTag), ("a: !custom x", DisallowedTag),
                     ("a: !!python/name:os.system", DisallowedTag), ("? [a]\n: b", HostileYAML),
                     ("a: 1\n---\nb: 2", HostileYAML), ("a: &x [1]\nb: *x", HostileYAML)]:
        with pytest.raises(exc):
            load_yaml(bad)


def test_a_row_takes_the_first_non_empty_alias(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"title": "T", "body": "", "content": "From content", "published": False,
                             "publishedDateTime": "2021-02-03T04:05:06Z"}) + "\n", encoding="utf-8")
    (art,) = _read(p).articles
    assert art["text"] == "T\n\nFrom content"
    assert art["published"] == dt.datetime(2021, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    assert art["warnings"] == []
