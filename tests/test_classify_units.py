"""Label files, metrics, explanations, subtopics and active-learning selection, on data we write."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.classify import labels as lab
from pipeline.classify.active import pick, safe_cell, uncertainty
from pipeline.classify.metrics import bootstrap_intervals, evaluate, expected_calibration_error
from pipeline.classify.subtopics import subtopic_tables
from pipeline.config import SubtopicsParams
from pipeline.schemas import ARTICLES


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_label_rows_validated_and_later_file_wins(tmp_path):
    a = _write(tmp_path / "a.csv", "url,topic,stance,split,group\n"
               "https://x.test/1,facial_recognition,ban,train,g1\n"
               "https://x.test/2,other,,dev,g2\n"
               "https://x.test/3,,,,\n")
    b = _write(tmp_path / "b.csv", "url,topic,stance\nhttps://x.test/1,facial_recognition,oversight\n")
    rows, counts = lab.read_label_files([a, b])
    assert rows["https://x.test/1"]["stance"] == "oversight"
    assert rows["https://x.test/1"]["split"] == "train"          # a filled to_label row without split
    assert rows["https://x.test/2"] == {"url": "https://x.test/2", "topic": "other", "stance": None,
                                        "split": "dev", "group": "g2"}
    assert counts["unlabelled_rows"] == 1 and counts["replaced"] == 1


@pytest.mark.parametrize("body, message", [
    ("url,topic,stance\nhttps://x.test/1,face,ban\n", "topic 'face' is not one of"),
    ("url,topic,stance\nhttps://x.test/1,facial_recognition,\n", "needs a stance"),
    ("url,topic,stance\nhttps://x.test/1,other,ban\n", "off-topic item"),
    ("url,topic,stance\n,other,\n", "without a url"),
    ("link,topic\nhttps://x.test/1,other\n", "no url column"),
])
def test_bad_label_rows_name_file_and_line(tmp_path, body, message):
    path = _write(tmp_path / "bad.csv", body)
    with pytest.raises(lab.LabelError, match=message) as err:
        lab.read_label_files([path])
    assert "bad.csv" in str(err.value)


def test_labels_join_by_canonical_url(tmp_path, params):
    arts = ARTICLES.from_rows([{
        "article_id": "a1", "url": "https://News.test/story?id=7", "canonical_url": "https://news.test/story?id=7",
        "urls": ["https://News.test/story?id=7"], "title": "T", "text": "T\n\nbody", "content_hash": "h1",
        "topics": [], "input_kind": "jsonl", "source_path": "x", "sources": [], "n_chars": 8, "warnings": [],
    }])
    rows = {"https://news.test/story?utm_source=feed&id=7": {"url": "https://news.test/story?utm_source=feed&id=7",
            "topic": "other", "stance": None, "split": "train", "group": None},
            "https://elsewhere.test/": {"url": "https://elsewhere.test/", "topic": "other", "stance": None,
                                        "split": "train", "group": None}}
    joined = lab.join_labels(rows, arts, params.ingest.tracking_params, {})
    assert joined.frame["article_id"].tolist() == ["a1"]
    assert joined.frame["group"].tolist() == ["url:a1"]   # no group: the article is its own group
    assert joined.counts["unmatched"] == 1


def test_ece_and_bootstrap():
    classes = ["a", "b"]
    # Confident and always right: ECE = 1 - 0.9 = 0.1.
    proba = np.array([[0.9, 0.1]] * 10)
    assert expected_calibration_error(proba, ["a"] * 10, classes) == pytest.approx(0.1)
    # 80% confident and right 8 times in 10: calibrated.
    proba = np.array([[0.8, 0.2]] * 10)
    assert expected_calibration_error(proba, ["a"] * 8 + ["b"] * 2, classes) == pytest.approx(0.0)
    y = np.array(["a", "b"] * 20, dtype=object)
    p = np.where(np.arange(40)[:, None] % 3 == 0, [[0.3, 0.7]], [[0.7, 0.3]])
    groups = [f"g{i // 4}" for i in range(40)]
    m = evaluate(y, p, classes, groups, positive="a", n_boot=200, seed=0)
    lo, hi = m["ci95"]["macro_f1"]
    assert lo <= m["macro_f1"] <= hi
    assert m["confusion_matrix"]["labels"] == classes
    assert sum(map(sum, m["confusion_matrix"]["rows_true_cols_pred"])) == 40
    again = bootstrap_intervals(y, np.array(classes, dtype=object)[p.argmax(1)], p, classes, groups, "a", 200, 0)
    assert again == m["ci95"]  # seeded


def test_ece_if_calibrated_is_the_small_sample_floor():
    from pipeline.classify.metrics import ece_if_calibrated

    classes = ["a", "b", "c"]
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([2.0, 1.0, 1.0], size=100)
    floor = ece_if_calibrated(proba, classes, observed=0.5, draws=300)
    # Labels drawn from the probabilities themselves still give an ECE well above zero on 100
    # items, and it shrinks with more items.
    assert 0.02 < floor["median"] < 0.15
    assert floor["range95"][0] <= floor["median"] <= floor["range95"][1]
    assert floor["share_at_least_observed"] == 0.0  # 0.5 is far beyond sampling noise
    big = ece_if_calibrated(np.tile(proba, (20, 1)), classes, draws=100)
    assert big["median"] < floor["median"] / 2
    assert ece_if_calibrated(proba, classes, draws=300) == {k: v for k, v in floor.items()
                                                            if k != "share_at_least_observed"}  # seeded
    # Probabilities that are confidently wrong are far outside the floor.
    wrong = np.array([[0.95, 0.025, 0.025]] * 100)
    y = ["b"] * 100
    assert ece_if_calibrated(wrong, classes, observed=expected_calibration_error(wrong, y, classes),
                             draws=200)["share_at_least_observed"] == 0.0


def test_largest_story_reported_apart():
    classes = ["a", "b"]
    # Story "big" (6 items, all "a") is predicted right at 0.6; the two small stories are
    # right at 0.9 except one miss.
    y = np.array(["a"] * 6 + ["a", "b", "b", "a"], dtype=object)
    p = np.array([[0.6, 0.4]] * 6 + [[0.9, 0.1], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9]])
    groups = ["big"] * 6 + ["s1", "s1", "s2", "s2"]
    m = evaluate(y, p, classes, groups, n_boot=0)
    big, rest = m["largest_group"], m["without_largest_group"]
    assert big == {"group": "big", "n": 6, "share": 0.6, "labels": {"a": 6}, "accuracy": 1.0,
                   "mean_confidence": pytest.approx(0.6)}
    assert rest["n"] == 4 and rest["accuracy"] == pytest.approx(0.75)
    assert rest["ece"] == pytest.approx(0.15)  # 0.9 confident, right 3 times in 4
    assert "largest_group" not in evaluate(y, p, classes, ["one"] * 10, n_boot=0)


def test_uncertainty_and_diverse_pick():
    import pandas as pd

    pred = pd.DataFrame({"p_topic": [0.5, 0.99, 0.99, 0.01],
                         "p_ban": [None, 0.34, 0.98, None], "p_oversight": [None, 0.33, 0.01, None],
                         "p_neutral": [None, 0.33, 0.01, None]}, dtype=float)
    u = uncertainty(pred)
    assert u[0] == pytest.approx(1.0) and u[1] == pytest.approx(1.0, abs=1e-3)
    assert u[2] < 0.2 and u[3] < 0.1
    texts = ["ban vote council"] * 6 + ["airport boarding trial"] * 6
    scores = np.linspace(1.0, 0.5, 12)
    chosen = pick(texts, scores, 2, seed=0)
    assert len(chosen) == 2 and {texts[i] for i in chosen} == set(texts)  # one per cluster
    assert safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and safe_cell("plain") == "plain"


def test_subtopics_stable_under_input_order():
    ids = [f"a{i}" for i in range(12)]
    texts = ([f"council vote ban moratorium city {i}" for i in range(6)]
             + [f"airport boarding gates trial passengers {i}" for i in range(6)])
    p = SubtopicsParams(n_topics=2, top_terms=3, min_df=2)
    t1, terms1 = subtopic_tables(ids, texts, p)
    t2, terms2 = subtopic_tables(ids[::-1], texts[::-1], p)
    assert t1.equals(t2) and terms1.equals(terms2)
    top = {r["topic_id"]: r["term"] for r in terms1.to_pylist() if r["rank"] == 1}
    assert len(top) == 2
    by_article = {}
    for r in t1.to_pylist():
        by_article.setdefault(r["article_id"], 0.0)
        by_article[r["article_id"]] += r["weight"]
    assert all(w <= 1.0 + 1e-6 for w in by_article.values())
    empty, no_terms = subtopic_tables(["a"], ["one"], p)
    assert empty.num_rows == 0 and no_terms.num_rows == 0


def test_lead_keeps_short_text_and_cuts_long_text_at_a_word():
    from pipeline.classify.features import lead

    short = "Council bans police face surveillance."
    assert lead(short, 100) == short
    body = "word " * 200
    cut = lead(body, 103)
    assert len(cut) <= 103 and cut.endswith("word") and body.startswith(cut)
    assert lead("x" * 500, 120) == "x" * 120                         # no space: a hard cut
    assert lead("a" * 99 + " tail", 100) == "a" * 99                 # the space at the limit counts


def test_classifiers_read_the_headline_and_lead(monkeypatch):
    """A body past the lead changes neither the features nor what the embedding model is given."""
    from pipeline.classify import features

    seen = []
    monkeypatch.setattr(features, "embed_texts",
                        lambda texts: (seen.extend(texts), np.zeros((len(texts), features.DIMENSION)))[1])
    opening = "The city council voted to prohibit police use of face surveillance. " * 3
    a = features.feature_frame([opening + "Later paragraphs. " * 300], ["Title"], lead_chars=len(opening))
    b = features.feature_frame([opening + "Other later text. " * 300], ["Title"], lead_chars=len(opening))
    assert a["text"].tolist() == b["text"].tolist() == [opening.rstrip()]
    assert max(len(t) for t in seen) <= len(opening)


def test_guideline_cues_count_word_families_in_headline_and_body_apart():
    import pandas as pd

    from pipeline.classify.cues import FAMILIES, GuidelineCues, explained, family_counts, split_headline

    names = list(FAMILIES)
    c = dict(zip(names, family_counts("Meta shutters its system, halts scans and is sued; ICO fines it")))
    assert c["halt"] == 2 and c["enforcement"] == 3 and c["deployment"] == 0
    assert family_counts("") == [0] * len(names)
    assert dict(zip(names, family_counts("Airline rolls out face boarding at 3 airports")))["deployment"] == 3
    # the body is the text without the headline it starts with; a text without it is all body
    assert split_headline("City bans it", "City bans it\n\nThe council voted.") == ("City bans it", "\n\nThe council voted.")
    assert split_headline("", "Body only") == ("", "Body only")
    X = pd.DataFrame({"title": ["City bans face scans", ""],
                      "text": ["City bans face scans\n\nCritics urge a moratorium.", "Regulator fines the firm."]})
    cues = GuidelineCues().fit(X)
    m = cues.transform(X).toarray()
    cols = list(cues.get_feature_names_out())
    assert m.shape == (2, 2 * len(names)) and cols[0] == "halt words in headline"
    row = dict(zip(cols, m[0]))
    assert row["halt words in headline"] == pytest.approx(np.log1p(1))   # "bans", counted once
    assert row["halt words in body"] == pytest.approx(np.log1p(1))       # "moratorium", not the headline again
    assert row["campaign words in body"] == pytest.approx(np.log1p(1))   # "urge"
    row = dict(zip(cols, m[1]))
    assert row["enforcement words in body"] == pytest.approx(np.log1p(2)) and row["halt words in headline"] == 0
    assert (cues.transform(X.iloc[[1]]).toarray() == m[[1]]).all()      # a row's features ignore its batch
    # labels for analysts: a family's name with the words that made it, where it found them
    assert explained("halt words in body", X["title"][0], X["text"][0]) == "halt words in body (moratorium)"
    assert explained("halt words in headline", "Meta shuts down, then halts, then shuts down", "") == \
        "halt words in headline (shuts, halts)"
    assert explained("rules words in headline", "No match here", "") == "rules words in headline"


def test_top_features_name_the_cue_families_that_pushed_a_decision():
    import pandas as pd

    from pipeline.classify.explain import top_terms
    from pipeline.classify.recipes import headline_cues_lr

    heads = ["Council bans face scans", "Town halts face surveillance", "City prohibits police face tech",
             "Regulator sets face scan rules", "Agency issues guidance on face tech", "State law regulates face ID",
             "Airline rolls out face boarding", "Store launches face payments", "Startup unveils face app"]
    y = ["ban"] * 3 + ["oversight"] * 3 + ["neutral"] * 3
    X = pd.DataFrame({"title": heads, "text": [h + ". Story follows." for h in heads]})
    model = headline_cues_lr(0).fit(X, y)
    probe = pd.DataFrame({"title": ["Village scraps face cameras"], "text": ["Village scraps face cameras. Story."]})
    k = list(model.classes_).index("ban")
    terms = top_terms(model, probe, [k], 8)[0]
    # "scraps" is in no training headline: only its family speaks, and the label names the word
    assert "cue: halt words in headline (scraps)" in terms
