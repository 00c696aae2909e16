"""Property-based: whatever bytes a file holds, reading it never raises and never hits the
catch-all `reader_error` (every failure has a specific reason), and counts stay consistent."""

from __future__ import annotations

import re
import string
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import IngestParams
from pipeline.ingest.normalize import clean_text
from pipeline.ingest.reader import read_file

P = IngestParams()
SETTINGS = settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

yaml_ish = st.lists(
    st.one_of(
        st.sampled_from(["---", "title: ", "excerpt: ", "related:", "  - ", "webUrl: ", "&a ", "*a", "!!python/",
                         "[", "]", "{", "}", '"', "'", ":", "\n", "  ", "? ", "|", ">", "%YAML 1.1", "\t", "#"]),
        st.text(alphabet=string.printable + "“”‘’«»\u200b\u202e\x00é", max_size=12),
    ),
    max_size=40,
).map(lambda parts: "---\n" + "".join(parts))


@SETTINGS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".md", ".txt", ".jsonl", ".json", ".csv", ".parquet"]))
def test_random_bytes_never_raise(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"f{suffix}"
    path.write_bytes(data)
    res = read_file(str(path), path, P)
    assert res.inputs >= 1
    assert not [q for q in res.quarantined if q.reason == "reader_error"], res.quarantined


@SETTINGS
@given(head=st.binary(max_size=200), tail=st.binary(max_size=200))
def test_random_bytes_inside_front_matter_are_quarantined_or_read(tmp_path_factory, head, tail):
    """Random bytes between front-matter fences and after them: a clear quarantine reason or
    an article, never an exception."""
    path = tmp_path_factory.mktemp("fuzz") / "r.md"
    path.write_bytes(b"---\ntitle: " + head + b"\n---\n" + tail)
    res = read_file(str(path), path, P)
    assert res.inputs >= 1
    for q in res.quarantined:
        assert q.reason != "reader_error" and q.reason and q.detail is not None
    for art in res.articles:
        assert art["text"] and art["article_id"]


@SETTINGS
@given(text=yaml_ish)
def test_random_front_matter_never_raises(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "r.md"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    res = read_file(str(path), path, P)
    assert res.inputs >= 1
    assert not [q for q in res.quarantined if q.reason == "reader_error"], res.quarantined
    for art in res.articles:
        assert art["text"] and art["article_id"]


@SETTINGS
@given(text=st.text(max_size=300))
def test_clean_text_output_is_nfc_trimmed_and_free_of_control_characters(text):
    out = clean_text(text)
    assert unicodedata.is_normalized("NFC", out)
    assert out == out.strip()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", out)
