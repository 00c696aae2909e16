"""Quotation-mark pairing: every style news uses, unbalanced marks never lose an article."""

from __future__ import annotations

import pytest

from pipeline.extract.marks import find_quotes, paragraphs


def _inner(text: str) -> list[str]:
    return [q.inner(text) for q in find_quotes(text)]


@pytest.mark.parametrize("text, expected", [
    ("“Hello there,” she said.", ["Hello there,"]),
    ('"Hello there," she said.', ["Hello there,"]),
    ("He said ''we will win'' today.", ["we will win"]),  # the New York Times' doubled apostrophes
    ("``Old style,'' he said.", ["Old style,"]),          # LaTeX / PTB-style opening marks
    ("«Bonjour», dit-elle.", ["Bonjour"]),
])
def test_every_mark_style_pairs(text, expected):
    assert _inner(text) == expected


def test_a_quote_split_by_its_attribution_gives_two_quotes():
    text = '"So," he said, "we won."'
    quotes = find_quotes(text)
    assert [q.inner(text) for q in quotes] == ["So,", "we won."]
    assert all(q.closed for q in quotes)


def test_a_quote_over_paragraphs_reopens_each_paragraph_and_is_one_quote():
    text = '"The first paragraph ends open.\n\n"The second one closes," she said.'
    (q,) = find_quotes(text)
    assert len(q.pieces) == 2 and q.closed
    assert text[q.pieces[0][0]:q.pieces[0][1]] == '"The first paragraph ends open.'
    assert q.inner(text).endswith("The second one closes,")


def test_an_unclosed_quote_ends_at_its_paragraph_and_later_quotes_still_pair():
    text = 'He said "never.\n\nNext "real" para and “another”.'
    quotes = find_quotes(text)
    assert [q.inner(text) for q in quotes] == ["never.", "real", "another"]
    assert [q.closed for q in quotes] == [False, True, True]


def test_stray_closing_marks_are_ignored():
    text = "Stray” closer and “ok”."
    assert _inner(text) == ["ok"]


def test_apostrophes_are_not_quote_marks():
    text = "The city’s ban isn’t final, O’Brien said."
    assert find_quotes(text) == []


def test_pieces_are_in_range_and_sorted_for_odd_inputs():
    for text in ['"', '""', '"a" "b', "''", "'' ''x''", '“”“', '\n\n"\n\n"', '"a\n\nb\n\n"c" d"']:
        for q in find_quotes(text):
            for s, e in q.pieces:
                assert 0 <= s < e <= len(text)
            assert list(q.pieces) == sorted(q.pieces)


def test_paragraphs_split_on_blank_lines_else_single_newlines():
    assert paragraphs("a\n\nb\n\nc") == [(0, 1), (3, 4), (6, 7)]
    assert paragraphs("a\nb\nc") == [(0, 1), (2, 3), (4, 5)]
