"""Who said what: attributions (cue, content, source) from a parsed spaCy ``Doc``.

One pass over a ``Doc`` finds

1. **cues** — the verb (or "according to", a colon, a noun such as "criticism") that
   introduces reported speech; each candidate token is scored by a linear model;
2. **content** — for each cue, candidate spans come from the parse (the subtree of a
   ``ccomp`` / ``xcomp`` / ``dobj`` / ``prep`` child, the cue's head clause without the cue,
   what follows a colon) and from the quotation marks of its sentence; a second linear
   model picks the best;
3. **source** — the mention that speaks: the cue's subject, the object of "according to"
   or of a passive "by", the head noun a participle hangs on ("a letter cautioning that"),
   the subject up a chain of ``xcomp`` / ``conj`` verbs, the phrase before a colon.

Quoted speech the parse did not attach to a cue (a quote that is a whole sentence or
paragraph) is attributed to the speaker of the quote before it in the same paragraph
(and becomes another piece of that attribution, as one speaker's consecutive quotes are
one attribution), or to a cue in the sentence after it ("... ," he added.) when there is
one. Titles and scare quotes (short, no sentence inside, after "titled", "so-called")
are not speech.

Everything here is a pure function of the ``Doc`` and the model weights, and every offset
is a character offset into ``doc.text``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from spacy import symbols as spacy_symbols
from spacy.attrs import DEP, ENT_TYPE, HEAD, IDX, LEMMA, LOWER, ORTH, POS, TAG
from spacy.tokens import Doc, Token

from pipeline.extract.linear import LinearModel
from pipeline.extract.marks import MARK_RE, QuoteSpan, find_quotes

Pieces = tuple[tuple[int, int], ...]

#: Dependency labels of a cue's children whose subtree may be the content.
CONTENT_DEPS = frozenset({"ccomp", "xcomp", "dobj", "advcl", "acl", "oprd", "acomp", "attr",
                          "nsubjpass", "nsubj", "pcomp", "relcl", "conj", "dative", "npadvmod",
                          "parataxis", "dep", "appos", "advmod", "csubj", "expl"})
#: A preposition child whose object may be the content ("called for X", "warned of X").
PREP_DEPS = frozenset({"prep", "agent"})
#: Words right before a quote that make it a name, not speech.
TITLE_CUES = frozenset({"titled", "entitled", "called", "named", "dubbed", "headlined", "so-called",
                        "the", "a", "an", "word", "term", "phrase", "label", "slogan", "motto",
                        "hashtag", "book", "film", "song", "report", "album", "show", "series",
                        "program", "programme", "study", "paper", "documentary", "podcast", "as"})
PRONOUNS = frozenset({"he", "she", "they", "i", "we", "you", "it", "him", "her", "them", "us"})
_SUBJ_DEPS = ("nsubj", "nsubjpass", "csubj")


@dataclass
class Attribution:
    """One attribution; every span is ``(start, end)`` character offsets into the text."""

    content: Pieces
    cue: tuple[int, int] | None
    source: tuple[int, int] | None
    kind: str = "indirect"  # direct / mixed / indirect
    score: float = 0.0
    cue_token: int | None = None
    source_token: int | None = None  # head token of the source mention
    origin: str = "parse"  # how it was found: parse:<candidate kind>, quote (attached by adjacency)
    sentence: int = 0

    @property
    def start(self) -> int:
        return self.content[0][0]

    @property
    def end(self) -> int:
        return self.content[-1][1]


@dataclass(frozen=True)
class AttributionModel:
    """The two linear models and the decoding thresholds."""

    cue: LinearModel
    content: LinearModel
    extra_cue_lemmas: frozenset[str] = field(default_factory=frozenset)
    min_speech_words: int = 4
    merge_following_quotes: bool = True
    #: Optional third model: keeps or drops each decoded attribution (its threshold decides).
    keep: LinearModel | None = None
    #: The keep threshold for attributions without quotation marks (``keep.threshold`` is the
    #: one for direct and mixed ones); ``None``: the same for both.
    keep_threshold_indirect: float | None = None
    #: Content candidates include parse spans cut before their trailing modifiers (models
    #: trained before these variants existed decode without them, as they were trained).
    cut_variants: bool = False


# --------------------------------------------------------------------------- spans


def _tok_span(doc: Doc, i: int, j: int) -> tuple[int, int]:
    """Characters of tokens ``doc[i:j]``."""
    last = doc[j - 1]
    return doc[i].idx, last.idx + len(last.text)


def _is_mark(tok: Token) -> bool:
    return MARK_RE.fullmatch(tok.text) is not None


def _trim(doc: Doc, i: int, j: int) -> tuple[int, int]:
    """Drop leading / trailing punctuation and spaces (but not quotation marks)."""
    while i < j and (doc[i].is_space or (doc[i].is_punct and not _is_mark(doc[i]))):
        i += 1
    while j > i and (doc[j - 1].is_space or (doc[j - 1].is_punct and not _is_mark(doc[j - 1]))):
        j -= 1
    return i, j


def _subtree(tok: Token) -> tuple[int, int]:
    return tok.left_edge.i, tok.right_edge.i + 1


def _pieces_minus(outer: tuple[int, int], inner: tuple[int, int]) -> list[tuple[int, int]]:
    out = []
    if inner[0] > outer[0]:
        out.append((outer[0], min(inner[0], outer[1])))
    if inner[1] < outer[1]:
        out.append((max(inner[1], outer[0]), outer[1]))
    return [p for p in out if p[1] > p[0]]


def _length(pieces: Iterable[tuple[int, int]]) -> int:
    return sum(e - s for s, e in pieces)


def overlap(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> int:
    total = 0
    for s1, e1 in a:
        for s2, e2 in b:
            lo, hi = max(s1, s2), min(e1, e2)
            if hi > lo:
                total += hi - lo
    return total


def iou(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> float:
    inter = overlap(a, b)
    union = _length(a) + _length(b) - inter
    return inter / union if union else 0.0


def _bucket(n: int) -> str:
    for b in (1, 2, 3, 5, 8, 13, 21, 34):
        if n <= b:
            return str(b)
    return "big"


# --------------------------------------------------------------------------- the document


class TokenTable:
    """Token attributes as lists of spaCy's integer ids (hashes), for scoring every verb of an
    article without creating a ``Token`` object per access (most of that cost); strings are
    looked up only for the tokens a feature names, once per document."""

    __slots__ = ("orth", "lower", "lemma", "pos", "tag", "dep", "ent", "head", "_children",
                 "_strings", "_names", "_lemmas")

    def __init__(self, doc: Doc) -> None:
        cols = doc.to_array([ORTH, LOWER, LEMMA, POS, TAG, DEP, ENT_TYPE, HEAD]).T.tolist()
        self.orth, self.lower, self.lemma, self.pos, self.tag, self.dep, self.ent, head = cols
        # HEAD is the head's offset from the token, stored as an unsigned 64-bit number
        self.head = [i + (h - 2**64 if h >= 2**63 else h) for i, h in enumerate(head)]
        self._children: list[list[int]] | None = None
        self._strings = doc.vocab.strings
        self._names: dict[int, str] = {}
        self._lemmas: dict[int, str] = {}

    def s(self, h: int) -> str:
        """The string of an id."""
        name = self._names.get(h)
        if name is None:
            name = self._names[h] = self._strings[h]
        return name

    def lemma_lower(self, i: int) -> str:
        h = self.lemma[i]
        name = self._lemmas.get(h)
        if name is None:
            name = self._lemmas[h] = self.s(h).lower()
        return name

    def children(self, i: int) -> list[int]:
        if self._children is None:
            kids: list[list[int]] = [[] for _ in self.head]
            for k, h in enumerate(self.head):
                if h != k:
                    kids[h].append(k)
            self._children = kids
        return self._children[i]

    def is_mark(self, i: int) -> bool:
        return MARK_RE.fullmatch(self.s(self.orth[i])) is not None


class DocView:
    """Per-document facts shared by every cue: quotes, which token sits in which quote."""

    def __init__(self, doc: Doc, min_speech_words: int = 4) -> None:
        self.doc = doc
        self.text = doc.text  # Doc.text joins every token on each access: read it once
        self.quotes: list[QuoteSpan] = find_quotes(self.text)
        self.min_speech_words = min_speech_words
        self.tt = TokenTable(doc)
        n = len(doc)
        self.in_quote = [-1] * n
        # token -> quote index, walking tokens and quote pieces together (both sorted)
        pieces = [(s, e, qi) for qi, q in enumerate(self.quotes) for s, e in q.pieces]
        self._pieces = pieces
        self._piece_starts = [p[0] for p in pieces]
        pi = 0
        if pieces:  # token offsets as one array: creating Token objects is the slow part
            for i, idx in enumerate(doc.to_array(IDX).tolist()):
                while pi < len(pieces) and pieces[pi][1] <= idx:
                    pi += 1
                if pi == len(pieces):
                    break
                if pieces[pi][0] <= idx:
                    self.in_quote[i] = pieces[pi][2]
        self.sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
        self.sent_of = [0] * n
        for si, s in enumerate(self.sents):
            for k in range(s.start, s.end):
                self.sent_of[k] = si
        self.speech = [self._is_speech(q) for q in self.quotes]
        # quotes by sentence (a quote belongs to every sentence it overlaps)
        self.sent_quotes: list[list[int]] = [[] for _ in self.sents]
        for qi, q in enumerate(self.quotes):
            seen = set()
            for s, e in q.pieces:
                span = doc.char_span(s, e, alignment_mode="expand")
                if span is None or len(span) == 0:
                    continue
                for si in range(self.sent_of[span.start], self.sent_of[span.end - 1] + 1):
                    if si not in seen:
                        seen.add(si)
                        self.sent_quotes[si].append(qi)

        self.sent_has_speech = [any(self.speech[x] for x in qs) for qs in self.sent_quotes]

    def quotes_at(self, pos: int) -> list[int]:
        """The quotation (as a 0- or 1-item list) with a piece holding character ``pos``;
        quotation pieces are disjoint and sorted, so one bisection finds it."""
        k = bisect.bisect_right(self._piece_starts, pos) - 1
        if k >= 0 and self._pieces[k][0] <= pos < self._pieces[k][1]:
            return [self._pieces[k][2]]
        return []

    def quote_words(self, qi: int) -> int:
        return len(self.quotes[qi].inner(self.text).split())

    def _is_speech(self, q: QuoteSpan) -> bool:
        inner = q.inner(self.text)
        words = inner.split()
        if not words:
            return False
        before = self.text[max(0, q.start - 40):q.start].split()
        prev = before[-1].lower().strip(",:;") if before else ""
        ends_sentence = inner.rstrip()[-1:] in ".,!?;:—-…" if inner.strip() else False
        if prev in TITLE_CUES and len(words) <= 8 and not ends_sentence:
            return False
        if looks_like_title(inner):
            return False
        if len(words) >= self.min_speech_words and (ends_sentence or len(words) >= 8):
            return True
        if ends_sentence and len(words) >= 2:
            return True
        return False


# --------------------------------------------------------------------------- cues


_VERB, _AUX = spacy_symbols.VERB, spacy_symbols.AUX
_AUX_CUE_DEPS = ("ROOT", "ccomp", "conj", "advcl", "relcl", "xcomp")


def is_cue_candidate(i: int, view: DocView, extra: frozenset[str]) -> bool:
    """Whether token ``i`` may be a cue (a verb, a clause-heading auxiliary, a colon, or a
    lemma that heads cues in the training data)."""
    tt = view.tt
    pos = tt.pos[i]
    if pos == _VERB:
        return True
    if pos == _AUX:
        return tt.s(tt.dep[i]) in _AUX_CUE_DEPS
    if tt.s(tt.orth[i]) == ":":
        return True
    return tt.lemma_lower(i) in extra


_CHILD_WORD_DEPS = frozenset({"prep", "prt", "agent", "dative", "neg", "aux", "auxpass"})


def cue_features(i: int, view: DocView) -> list[str]:
    """Features of token ``i`` as a cue (read from the view's token table)."""
    tt = view.tt
    S = tt.s
    lemma = tt.lemma_lower(i)
    dep = S(tt.dep[i])
    h = tt.head[i]
    tag = S(tt.tag[i])
    f = [
        "b",
        "l=" + lemma,
        "p=" + S(tt.pos[i]),
        "t=" + tag,
        "d=" + dep,
        "ld=" + lemma + "|" + dep,
        "lt=" + lemma + "|" + tag,
        "hl=" + tt.lemma_lower(h),
        "hp=" + S(tt.pos[h]) + "|" + dep,
    ]
    child_deps = []
    for ch in tt.children(i):
        cd = S(tt.dep[ch])
        child_deps.append(cd)
        if cd in _CHILD_WORD_DEPS:
            low = S(tt.lower[ch])
            f.append("c=" + cd + "|" + low)
            f.append("lc=" + lemma + "|" + cd + "|" + low)
        if cd in _SUBJ_DEPS:
            cpos = S(tt.pos[ch])
            f.append("s=" + cpos)
            f.append("se=" + (S(tt.ent[ch]) or "-"))
            if cpos == "PRON":
                f.append("sl=" + S(tt.lower[ch]))
            f.append("ls=" + lemma + "|" + cpos)
        if cd == "dobj":
            o = S(tt.ent[ch]) or S(tt.pos[ch])
            f.append("o=" + o)
            f.append("lo=" + lemma + "|" + o)
    for cd in set(child_deps):
        f.append("c=" + cd)
        f.append("lc=" + lemma + "|" + cd)
    if not child_deps:
        f.append("c=none")
    q = view.in_quote[i]
    sent = view.sent_of[i]
    sq = view.sent_quotes[sent]
    f.append("q=" + ("in" if q >= 0 else "out"))
    f.append("lq=" + lemma + "|" + ("in" if q >= 0 else "out"))
    f.append("sq=" + ("speech" if view.sent_has_speech[sent] else ("quote" if sq else "no")))
    f.append("lsq=" + lemma + "|" + ("1" if sq else "0"))
    n = len(tt.orth)
    if i > 0:
        prev_mark = tt.is_mark(i - 1)
        f.append("pw=" + (S(tt.lower[i - 1]) if not prev_mark else "MARK"))
        if i > 1 and prev_mark:
            f.append("pw2=" + S(tt.lower[i - 2]))
    if i + 1 < n:
        nw = S(tt.lower[i + 1]) if not tt.is_mark(i + 1) else "MARK"
        f.append("nw=" + nw)
        f.append("lnw=" + lemma + "|" + nw)
    if S(tt.orth[i]) == ":":
        f.append("colon_next_quote=" + str(i + 1 < n and tt.is_mark(i + 1)))
    return f


# --------------------------------------------------------------------------- content


@dataclass
class Candidate:
    kind: str
    pieces: Pieces  # characters
    root: int | None  # token index of the candidate's root, when it has one
    tokens: tuple[int, int]  # first and last+1 token (extent)
    tail: str = ""  # the trailing modifier its cut variants leave out ("" when none)


def _cand_from_tokens(view: DocView, kind: str, i: int, j: int, root: int | None) -> Candidate | None:
    i, j = _trim(view.doc, i, j)
    if j <= i:
        return None
    return Candidate(kind, (_tok_span(view.doc, i, j),), root, (i, j))


#: Trailing modifiers a content may end before ("the plan, which critics called ...", "...,
#: throwing a wrench in ...", "..., including ..."): their subtrees are cut off in variants.
TRIM_DEPS = frozenset({"advcl", "relcl", "acl", "appos", "prep", "conj", "npadvmod", "parataxis",
                       "dep", "ccomp", "xcomp"})
#: Variants per candidate (cut at the last, the last two, ... trailing modifiers).
MAX_CUTS = 3
_CUT_PUNCT = frozenset({",", "—", "–", "--", "-", "(", ";"})


def _cut_variants(view: DocView, cand: Candidate) -> list[Candidate]:
    """The candidate without its trailing modifiers: each subtree on the candidate's right
    spine (its root, the root's last child, that child's last child, ...) that starts after a
    comma, dash, parenthesis or semicolon, or is a relative / adverbial clause, is a cut point;
    the span up to each of the last ``MAX_CUTS`` cut points is a variant."""
    if cand.root is None or len(cand.pieces) != 1:
        return []
    doc = view.doc
    i, j = cand.tokens
    spine = [doc[cand.root]]
    while True:
        right = [c for c in spine[-1].rights if i <= c.i < j and not c.is_punct]
        if not right:
            break
        spine.append(right[-1])
    cuts = []
    for n in spine[1:]:
        k = n.left_edge.i
        if n.dep_ not in TRIM_DEPS or k <= i + 1:
            continue
        after_punct = doc[k - 1].text in _CUT_PUNCT
        if after_punct or n.dep_ in ("relcl", "advcl", "acl"):
            cuts.append((k, n.dep_ + ("|p" if after_punct else "")))
    out: list[Candidate] = []
    for k, tag in sorted(cuts, key=lambda c: -c[0]):
        a, b = _trim(doc, i, k)
        if b - a >= 2:
            out.append(Candidate(cand.kind + "~" + tag, (_tok_span(doc, a, b),), cand.root, (a, b)))
            if len(out) == MAX_CUTS:
                break
    return out


def content_candidates(tok: Token, view: DocView, cut_variants: bool = False) -> list[Candidate]:
    """The cue's content candidates; with ``cut_variants``, also each parse candidate without
    its trailing modifiers (models trained with them say so: ``AttributionModel.cut_variants``)."""
    out = _base_candidates(tok, view)
    if not cut_variants:
        return out
    cuts = []
    for c in out:
        if c.kind.startswith(("ch:", "pobj:", "prep:")):
            vs = _cut_variants(view, c)
            if vs:
                c.tail = vs[0].kind.partition("~")[2]
            cuts.extend(vs)
    return out + cuts


def _base_candidates(tok: Token, view: DocView) -> list[Candidate]:
    doc = view.doc
    out: list[Candidate] = []
    cue_tree = _subtree(tok)
    for ch in tok.children:
        dep = ch.dep_
        if dep in CONTENT_DEPS:
            c = _cand_from_tokens(view, "ch:" + dep, *_subtree(ch), ch.i)
            if c:
                out.append(c)
        elif dep in PREP_DEPS:
            objs = [g for g in ch.children if g.dep_ in ("pobj", "pcomp")]
            for g in objs:
                c = _cand_from_tokens(view, "pobj:" + ch.lower_, *_subtree(g), g.i)
                if c:
                    out.append(c)
            c = _cand_from_tokens(view, "prep:" + ch.lower_, *_subtree(ch), ch.i)
            if c:
                out.append(c)
    # the cue's head clause without the cue ("the plan, he said, will fail"; "according to")
    if tok.head.i != tok.i:
        head = tok.head
        outer = _subtree(head)
        parts = []
        for a, b in _pieces_minus(outer, cue_tree):
            a, b = _trim(doc, a, b)
            if b > a:
                parts.append((a, b))
        if parts:
            pieces = tuple(_tok_span(doc, a, b) for a, b in parts)
            out.append(Candidate("head:" + tok.dep_, pieces, head.i, (parts[0][0], parts[-1][1])))
    # quotes of the cue's sentence, one by one and all together
    sent = view.sent_of[tok.i]
    sq = [qi for qi in view.sent_quotes[sent] if view.in_quote[tok.i] != qi]
    for qi in sq:
        q = view.quotes[qi]
        span = doc.char_span(q.start, q.end, alignment_mode="expand")
        if span is None:
            continue
        side = "after" if q.start > tok.idx else "before"
        out.append(Candidate("quote:" + side, q.pieces, None, (span.start, span.end)))
    speech = [qi for qi in sq if view.speech[qi]]
    if len(speech) > 1:
        pieces = tuple(p for qi in speech for p in view.quotes[qi].pieces)
        first = doc.char_span(pieces[0][0], pieces[0][1], alignment_mode="expand")
        last = doc.char_span(pieces[-1][0], pieces[-1][1], alignment_mode="expand")
        if first is not None and last is not None:
            out.append(Candidate("quotes:all", pieces, None, (first.start, last.end)))
    # what follows a colon: to the end of the sentence, or the quote that opens right after it
    colon = None
    if tok.text == ":":
        colon = tok.i
    else:
        k = cue_tree[1]
        if k < len(doc) and doc[k].text == ":" and view.sent_of[k] == sent:
            colon = k
        elif tok.i + 1 < len(doc) and doc[tok.i + 1].text == ":":
            colon = tok.i + 1
    if colon is not None and colon + 1 < len(doc):
        nxt = colon + 1
        qi = view.in_quote[nxt]
        if qi >= 0:
            q = view.quotes[qi]
            span = doc.char_span(q.start, q.end, alignment_mode="expand")
            if span is not None:
                out.append(Candidate("colon:quote", q.pieces, None, (span.start, span.end)))
        else:
            end = view.sents[view.sent_of[nxt]].end
            c = _cand_from_tokens(view, "colon:rest", nxt, end, None)
            if c:
                out.append(c)
    return out


def content_features(tok: Token, cand: Candidate, view: DocView, cue_feats_short: list[str]) -> list[str]:
    tt = view.tt
    S = tt.s
    lemma = tt.lemma_lower(tok.i)
    kind, _, cut = cand.kind.partition("~")
    kgroup = kind.split(":")[0]
    i, j = cand.tokens
    n = j - i
    f = ["b", "k=" + kind, "kl=" + kind + "|" + lemma, "kg=" + kgroup, "kgl=" + kgroup + "|" + lemma,
         "n=" + _bucket(n), "kn=" + kgroup + "|" + _bucket(n)]
    if cut:  # a variant without its trailing modifier
        f += ["cut=" + cut, "kcut=" + kind + "|" + cut, "lcut=" + lemma + "|" + cut.split("|")[0],
              "cutn=" + cut + "|" + _bucket(n)]
    elif cand.tail:  # the full span, which has a trailing modifier its variants cut
        f += ["tail=" + cand.tail, "ktail=" + kind + "|" + cand.tail, "tailn=" + cand.tail + "|" + _bucket(n)]
    fw = S(tt.lower[i]) if not tt.is_mark(i) else "MARK"
    f.append("fw=" + fw)
    f.append("kfw=" + kgroup + "|" + fw)
    chars = _length(cand.pieces)
    text = view.text
    has_mark = any(MARK_RE.search(text, s, e) for s, e in cand.pieces) if kgroup != "quote" else True
    f.append("hm=" + str(bool(has_mark)))
    f.append("khm=" + kgroup + "|" + str(bool(has_mark)))
    if cand.root is not None:
        r = cand.root
        rpos = S(tt.pos[r])
        f.append("rp=" + rpos)
        f.append("krp=" + kind + "|" + rpos)
        f.append("rt=" + S(tt.tag[r]))
        f.append("re=" + (S(tt.ent[r]) or "-"))
        f.append("lrp=" + lemma + "|" + rpos)
        pos = tt.pos
        has_verb = any(pos[k] == _VERB or pos[k] == _AUX for k in range(i, j))
        f.append("hv=" + str(has_verb))
        f.append("khv=" + kind + "|" + str(has_verb))
    else:
        f.append("rp=none")
    side = "after" if i > tok.i else ("before" if j <= tok.i else "around")
    f.append("side=" + side)
    f.append("kside=" + kgroup + "|" + side)
    if kgroup == "quote" or kgroup == "quotes" or kind == "colon:quote":
        speech_words = sum(len(text[s:e].split()) for s, e in cand.pieces)
        f.append("qw=" + _bucket(speech_words))
    f.append("pieces=" + str(min(len(cand.pieces), 3)))
    f.append("kc=" + kgroup + "|" + _bucket(chars // 20))
    for cf in cue_feats_short:
        f.append("k" + kgroup + "&" + cf)
    return f


# --------------------------------------------------------------------------- sources


def _np_span(tok: Token) -> tuple[int, int]:
    """The mention of a noun phrase headed by ``tok``: its left modifiers up to the head
    (relative clauses and appositions after the head are not part of the mention)."""
    i = tok.left_edge.i
    j = tok.i + 1
    # keep flat name parts to the right ("Evan Greer" when the head is "Evan")
    doc = tok.doc
    while j < len(doc) and doc[j].head.i == tok.i and doc[j].dep_ in ("flat", "compound") :
        j += 1
    return i, j


def source_token(tok: Token, view: DocView) -> Token | None:
    """The head token of the cue's source mention, or ``None``."""
    doc = view.doc
    if tok.text == ":":
        # "Smith: ..." / "The statement from the ACLU: ..." -> the phrase before the colon
        k = tok.i - 1
        sent_start = view.sents[view.sent_of[tok.i]].start
        while k >= sent_start and (doc[k].is_punct or doc[k].is_space):
            k -= 1
        if k < sent_start:
            return None
        t = doc[k]
        # climb to the head of the phrase that ends before the colon
        while t.head.i != t.i and t.head.i < tok.i and t.head.i >= sent_start and t.dep_ not in ("ROOT",):
            t = t.head
        return t if t.pos_ in ("PROPN", "NOUN", "PRON") else None
    lemma = tok.lemma_.lower()
    t = tok
    for _ in range(5):
        if lemma == "accord" or t.lower_ == "according":
            for ch in t.children:
                if ch.dep_ == "prep":
                    for g in ch.children:
                        if g.dep_ == "pobj":
                            return g
            return None
        subj = None
        agent = None
        poss = None
        compound = None
        for ch in t.children:
            if ch.dep_ in ("nsubj", "csubj") and subj is None:
                subj = ch
            elif ch.dep_ == "compound" and ch.i < t.i and ch.pos_ in ("PROPN", "PRON") and t.pos_ == "VERB":
                # the small parser sometimes reads "..." Bozell answers / Trump barked as a compound
                compound = ch
            elif ch.dep_ == "agent":
                for g in ch.children:
                    if g.dep_ == "pobj":
                        agent = g
            elif ch.dep_ == "poss" and t.pos_ == "NOUN":
                poss = ch
        if agent is not None:
            return agent
        if subj is None:
            subj = compound
        if subj is not None:
            if subj.lower_ in ("it", "there") and t.i != tok.i:
                return None
            return subj
        if poss is not None:
            return poss
        if t.dep_ in ("acl", "relcl") and t.head.pos_ in ("NOUN", "PROPN", "PRON"):
            return t.head
        if t.dep_ in ("xcomp", "conj", "advcl", "ccomp", "pcomp", "prep", "pobj", "acomp", "dep") and t.head.i != t.i:
            t = t.head
            continue
        return None
    return None


def source_span(tok: Token | None) -> tuple[int, int] | None:
    if tok is None:
        return None
    i, j = _np_span(tok)
    return _tok_span(tok.doc, i, j)


# --------------------------------------------------------------------------- decoding


_BEFORE_MARK = re.compile(r"(?:``|''|[\"“”„«»‟])\s*$")
_AFTER_MARK = re.compile(r"[\s,.;:!?…]*(?:''|[\"“”»‟])")


def _kind(text: str, pieces: Pieces) -> str:
    """direct: the content opens with a quotation mark or one stands right before it (or right
    after it, with no mark inside), as PolNeAR defines it; mixed: marks only inside it."""
    start, end = pieces[0][0], pieces[-1][1]
    inside = any(MARK_RE.search(text, s, e) for s, e in pieces)
    if MARK_RE.match(text, start) or _BEFORE_MARK.search(text, max(0, start - 4), start):
        return "direct"
    if not inside and _AFTER_MARK.match(text, end):
        return "direct"
    return "mixed" if inside else "indirect"


def looks_like_title(inner: str) -> bool:
    """A quoted name rather than speech: two or more words, every long word capitalised, no
    sentence punctuation ("Faces in the Crowd", "The Age of Surveillance Capitalism")."""
    ws = re.findall(r"[^\W\d_][\w'’-]*", inner)
    if len(ws) < 2 or re.search(r"[.!?,;]\s*$", inner.strip()):
        return False
    long = [w for w in ws if len(w) > 3]
    return bool(long) and all(w[0].isupper() for w in long) and ws[0][0].isupper()


def extract(doc: Doc, model: AttributionModel, view: DocView | None = None) -> list[Attribution]:
    """Every attribution in ``doc``, in text order."""
    view = view or DocView(doc, model.min_speech_words)
    found = decode(doc, model, view)
    if model.keep is not None:
        keep = model.keep
        t_ind = keep.threshold if model.keep_threshold_indirect is None else model.keep_threshold_indirect
        kept = []
        for a, feats in zip(found, keep_features(found, view)):
            p = keep.score(feats)
            # "according to X" is a gold cue 92% of the time in PolNeAR train (394 of 429):
            # more reliable than any keep threshold
            sure = a.cue_token is not None and a.source is not None and doc[a.cue_token].lower_ == "according"
            if sure or p >= (keep.threshold if a.kind != "indirect" else t_ind):
                a.score = p
                kept.append(a)
        found = kept
    for a in found:
        a.__dict__.pop("_p", None)
    return found


def decode(doc: Doc, model: AttributionModel, view: DocView) -> list[Attribution]:
    """Cue and content decoding plus quote attachment, before the keep model (text order).
    Each attribution carries ``_p = (p_cue, p_content)`` in its ``__dict__`` for the keep model."""
    found: list[Attribution] = []
    extra = model.extra_cue_lemmas
    for i in range(len(doc)):
        if not is_cue_candidate(i, view, extra):
            continue
        cf = cue_features(i, view)
        p_cue = model.cue.score(cf)
        if p_cue < model.cue.threshold:
            continue
        tok = doc[i]
        short = [x for x in cf if x.startswith(("l=", "d=", "q="))]
        best, best_p = None, 0.0
        for cand in content_candidates(tok, view, model.cut_variants):
            p = model.content.score(content_features(tok, cand, view, short))
            if p > best_p:
                best, best_p = cand, p
        if best is None or best_p < model.content.threshold or _is_title(view, best.pieces):
            continue
        src = source_token(tok, view)
        cue_span = _tok_span(doc, tok.i, tok.i + 1)
        pieces = _snap_to_quote_end(view, best.pieces, tok)
        a = Attribution(content=pieces, cue=cue_span, source=source_span(src),
                        kind=_kind(view.text, pieces), score=p_cue * best_p,
                        cue_token=tok.i, source_token=src.i if src is not None else None,
                        origin="parse:" + best.kind, sentence=view.sent_of[tok.i])
        a.__dict__["_p"] = (p_cue, best_p)
        found.append(a)
    found = _suppress_overlaps(found)
    found = _attach_quotes(found, view, model)
    found.sort(key=lambda a: (a.start, a.end))
    return found


def _snap_to_quote_end(view: DocView, pieces: Pieces, cue: Token) -> Pieces:
    """A content that stops inside a quotation (the parse ends at a sentence, the quote goes
    on) runs on to the quotation's end, over its later paragraphs too; not when the cue
    itself is inside that quotation ("I think ..." within someone's quote)."""
    end = pieces[-1][1]
    for qi in view.quotes_at(end - 1):
        q = view.quotes[qi]
        if q.end <= end or view.in_quote[cue.i] == qi:
            continue
        rest = [(max(s, end), e) for s, e in q.pieces if e > end]
        merged = list(pieces[:-1]) + [(pieces[-1][0], rest[0][1])] + rest[1:]
        return tuple(merged)
    return pieces


def _is_title(view: DocView, pieces: Pieces) -> bool:
    """The content is a quoted title ("Faces in the Crowd") with at most a few words around
    it ("The Age of Surveillance Capitalism" twice): a name, not something said."""
    if len(pieces) != 1:
        return False
    s, e = pieces[0]
    text = view.text
    for qi in set(view.quotes_at(s) + view.quotes_at(max(s, e - 1))):
        q = view.quotes[qi]
        if view.speech[qi] or not looks_like_title(q.inner(text)):
            continue
        outside = text[s:max(s, q.start)] + " " + text[min(e, q.end):e]
        if len(outside.split()) <= 4:
            return True
    inner = text[s:e].strip().strip("\"“”„«»‟`'")
    return bool(inner) and looks_like_title(inner) and not re.search(r"\w\s+[\"“”]", text[s:e])


def _pbucket(p: float) -> str:
    return str(min(9, int(p * 10)))


def keep_features(found: Sequence[Attribution], view: DocView) -> list[list[str]]:
    """Features of each decoded attribution for the keep model (``found`` in text order)."""
    doc = view.doc
    text = view.text
    out = []
    prev_end = -1
    for k, a in enumerate(found):
        p_cue, p_con = a.__dict__.get("_p", (0.0, 0.0))
        origin = a.origin
        og = origin.split("+")[0]
        grp = og.split(":")[0] + ":" + og.split(":")[1] if og.startswith("parse:") else og
        merged = "+quote" in origin
        f = ["b", "o=" + og, "og=" + grp, "m=" + str(merged), "kind=" + a.kind,
             "ok=" + og + "|" + a.kind, "pc=" + _pbucket(p_cue), "pn=" + _pbucket(p_con),
             "ogpc=" + grp + "|" + _pbucket(p_cue), "ogpn=" + grp + "|" + _pbucket(p_con),
             "pp=" + _pbucket(p_cue * p_con)]
        words = sum(len(text[s:e].split()) for s, e in a.content)
        f.append("w=" + _bucket(words))
        f.append("ogw=" + grp + "|" + _bucket(words))
        f.append("np=" + str(min(len(a.content), 4)))
        if a.cue_token is not None:
            ct = doc[a.cue_token]
            lemma = ct.lemma_.lower()
            f.append("l=" + lemma)
            f.append("lo=" + lemma + "|" + grp)
            qin = view.in_quote[ct.i] >= 0
            f.append("cq=" + str(qin))
            f.append("cqk=" + str(qin) + "|" + a.kind)
            side = "after" if ct.idx >= a.end else ("before" if ct.idx < a.start else "inside")
            f.append("cs=" + side)
        else:
            f.append("l=NONE")
        if a.source_token is not None:
            st = doc[a.source_token]
            f.append("s=" + st.pos_)
            f.append("se=" + (st.ent_type_ or "-"))
            if st.pos_ == "PRON":
                f.append("sl=" + st.lower_)
            f.append("sog=" + st.pos_ + "|" + grp)
        else:
            f.append("s=none")
            f.append("sog=none|" + grp)
        # what stands right before the content
        i = a.start
        before = text[max(0, i - 30):i].split()
        f.append("bw=" + (before[-1].lower()[-12:] if before else "^"))
        f.append("nl=" + str(text[max(0, i - 2):i].count("\n") > 0 or i == 0))
        # overlaps with the neighbours
        ov_prev = a.start < prev_end
        f.append("ovp=" + str(ov_prev))
        nxt = found[k + 1] if k + 1 < len(found) else None
        f.append("ovn=" + str(nxt is not None and nxt.start < a.end))
        prev_end = max(prev_end, a.end)
        out.append(f)
    return out


_DASHES = frozenset({"—", "–", "--", "―"})


def _speaker_before_colon(view: DocView, span) -> tuple[int, Token] | None:
    """(colon token, speaker head) when the quote follows "<noun phrase>:" opening its sentence."""
    doc = view.doc
    i = span.start - 1
    while i >= 0 and doc[i].is_space:
        i -= 1
    if i < 1 or doc[i].text != ":":
        return None
    start = view.sents[view.sent_of[i]].start
    toks = [t for t in doc[start:i] if not t.is_space]
    if not toks or len(toks) > 15:
        return None
    roots = [t for t in toks if not (start <= t.head.i < i) or t.head.i == t.i]
    root = roots[0] if roots else None
    if root is None or root.pos_ not in ("PROPN", "NOUN", "PRON") or any(t.pos_ in ("VERB", "AUX") and
                                                                       t.dep_ == "ROOT" for t in toks):
        return None
    return i, root


_CUE_WINDOW = 6  # tokens after a quotation's closing mark searched for its cue


def _cue_after_quote(view: DocView, span, model, used: set) -> tuple[int, Token, float] | None:
    """(cue token, speaker head, cue probability) for a cue within a few tokens after the quote, in its
    paragraph and before the next sentence end, whose subject follows the quote."""
    doc = view.doc
    j, seen = span.end, 0
    while j < len(doc) and seen < _CUE_WINDOW:
        tok = doc[j]
        if "\n" in tok.text or (tok.is_space and "\n" in tok.text_with_ws):
            return None
        if tok.is_space or tok.text == ",":
            j += 1
            continue
        if tok.is_punct and tok.text in (".", "!", "?", ";", "“", '"', "''", "``"):
            return None
        seen += 1
        if j not in used and is_cue_candidate(j, view, model.extra_cue_lemmas):
            p_cue = model.cue.score(cue_features(j, view))
            if p_cue >= model.cue.threshold:
                src = source_token(tok, view)
                if src is not None and src.i >= span.end and src.pos_ in ("PROPN", "NOUN", "PRON"):
                    return j, src, p_cue
                return None
        j += 1
    return None


_LEAD_IN_WINDOW = {":": 15, ",": 6, ".": 6}  # tokens before the mark searched for the lead-in's cue


def _cue_before_quote(view: DocView, span, model, used: set) -> tuple[int, Token, float] | None:
    """(cue token, speaker head, cue probability) for a lead-in right before the quote: a sentence ending in a
    colon ('Breitbart News responded:' closing the paragraph before), or a cue without content
    of its own closing the words before the quote ('as Smith put it, "..."', 'Smith said in a
    statement. "..."'): the last cue there that has a subject and no attribution yet."""
    doc = view.doc
    i = span.start - 1
    while i >= 0 and doc[i].is_space:
        i -= 1
    if i < 1 or doc[i].text not in _LEAD_IN_WINDOW:
        return None
    start = view.sents[view.sent_of[i]].start
    for j in range(i - 1, max(start, i - _LEAD_IN_WINDOW[doc[i].text]) - 1, -1):
        if j in used or not is_cue_candidate(j, view, model.extra_cue_lemmas) or doc[j].text == ":":
            continue
        p_cue = model.cue.score(cue_features(j, view))
        if p_cue < model.cue.threshold:
            continue
        src = source_token(doc[j], view)
        if src is not None and src.i < i and src.pos_ in ("PROPN", "NOUN", "PRON"):
            return j, src, p_cue
        return None
    return None


def _speaker_after_dash(view: DocView, span) -> tuple[int, Token] | None:
    """(dash token, speaker head) when the quote is followed by "— Name" (a byline-style credit)."""
    doc = view.doc
    j = span.end
    while j < len(doc) and (doc[j].is_space or doc[j].text == ","):
        j += 1
    if j >= len(doc) - 1 or doc[j].text not in _DASHES:
        return None
    k = j + 1
    while k < len(doc) and doc[k].is_space:
        k += 1
    run = k
    while run < len(doc) and doc[run].pos_ == "PROPN" and run - k < 5:
        run += 1
    if run == k:
        return None
    return j, doc[run - 1]


def _borrow(view: DocView, q: QuoteSpan, span, other: Attribution, origin: str, score: float) -> Attribution:
    """Quote ``q`` attributed with the cue and speaker of the attribution ``other``."""
    a = Attribution(content=q.pieces, cue=other.cue, source=other.source, kind=_kind(view.text, q.pieces),
                    score=score, cue_token=other.cue_token, source_token=other.source_token,
                    origin=origin, sentence=view.sent_of[span.start])
    a.__dict__["_p"] = other.__dict__.get("_p", (0.0, 0.0))
    return a


def _insort(by_start: list[Attribution], a: Attribution) -> None:
    """Insert ``a`` into ``by_start`` (sorted by start), after any with the same start."""
    k = len(by_start)
    while k > 0 and by_start[k - 1].start > a.start:
        k -= 1
    by_start.insert(k, a)


def _suppress_overlaps(found: list[Attribution]) -> list[Attribution]:
    """Keep the best of attributions whose contents overlap by half or more."""
    kept: list[Attribution] = []
    for a in sorted(found, key=lambda a: (-a.score, a.start)):
        s, e = a.start, a.end
        if all(k.end <= s or e <= k.start or iou(a.content, k.content) < 0.5 for k in kept):
            kept.append(a)
    return kept


def _attach_quotes(found: list[Attribution], view: DocView, model: AttributionModel) -> list[Attribution]:
    """Speech quotes no attribution covers, in this order: the speaker named before a colon or
    after a dash; a cue right after the quote ('"...," he continued') or a lead-in right before
    it ('He said:'); the same speaker's attribution before it in the paragraph, or in the
    paragraph before when the quote opens its paragraph (joined as another piece); a cue in the
    next sentence; else the quote stands alone with no speaker."""
    doc = view.doc
    text = view.text
    covered = []
    for qi, q in enumerate(view.quotes):
        if not view.speech[qi]:
            continue
        ov = sum(overlap(q.pieces, a.content) for a in found)
        if ov >= 0.5 * _length(q.pieces):
            continue
        covered.append(qi)
    if not covered:
        return found
    from pipeline.extract.marks import paragraphs

    paras = paragraphs(text)

    def para_of(pos: int) -> int:
        lo, hi = 0, len(paras) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if paras[mid][0] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo

    by_start = sorted(found, key=lambda a: a.start)
    used_cues = {a.cue_token for a in found if a.cue_token is not None}

    def add(a: Attribution) -> None:  # later quotes see this one (a run of one speaker's quotes)
        found.append(a)
        _insort(by_start, a)

    for qi in covered:
        q = view.quotes[qi]
        span = doc.char_span(q.start, q.end, alignment_mode="expand")
        if span is None or len(span) == 0:
            continue
        p = para_of(q.start)
        # the speaker before a colon ('Dana Whitlock, director of X: "..."') or after a dash
        # ('"..." — Lena Park'): these name the speaker outright
        named = _speaker_before_colon(view, span) or _speaker_after_dash(view, span)
        if named is not None:
            cue_i, src = named
            a = Attribution(content=q.pieces, cue=_tok_span(doc, cue_i, cue_i + 1), source=source_span(src),
                            kind=_kind(text, q.pieces), score=0.6, cue_token=cue_i, source_token=src.i,
                            origin="quote:colon" if doc[cue_i].text == ":" else "quote:dash",
                            sentence=view.sent_of[span.start])
            a.__dict__["_p"] = (0.9, 0.9)
            add(a)
            continue
        # a cue right after the quote ('"...," he continued' / '"...?" asked Smith') that the
        # parse did not link to it, or a lead-in right before it ('He said:' closing the
        # paragraph before, 'as Smith put it, "..."'): that cue's subject is the speaker
        adjacent = _cue_after_quote(view, span, model, used_cues)
        origin = "quote:cue-adjacent"
        if adjacent is None:
            adjacent, origin = _cue_before_quote(view, span, model, used_cues), "quote:lead-in"
        if adjacent is not None:
            cue_i, src, p_cue = adjacent
            a = Attribution(content=q.pieces, cue=_tok_span(doc, cue_i, cue_i + 1), source=source_span(src),
                            kind=_kind(text, q.pieces), score=0.5, cue_token=cue_i, source_token=src.i,
                            origin=origin, sentence=view.sent_of[span.start])
            a.__dict__["_p"] = (p_cue, 0.0)
            used_cues.add(cue_i)
            add(a)
            continue
        prev = None
        for a in by_start:
            if a.end <= q.start and para_of(a.start) == p and a.source is not None:
                prev = a
        if prev is not None and model.merge_following_quotes:
            prev.content = tuple(sorted(prev.content + q.pieces))
            prev.origin += "+quote"
            prev.kind = _kind(text, prev.content)
            continue
        # a cue in the sentence right after the quote ("... ." He added.)
        sent_after = view.sent_of[span.end - 1]
        attached = None
        for a in by_start:
            if a.cue_token is not None and view.sent_of[a.cue_token] in (sent_after, sent_after + 1) \
                    and a.start >= q.end and a.source is not None and para_of(a.start) == p:
                attached = a
                break
        if attached is not None:
            add(_borrow(view, q, span, attached, "quote:cue-after", 0.5))
            continue
        # a paragraph that opens with the quote continues the previous paragraph's last
        # attribution (PolNeAR makes one attribution of a speaker's run of quotes; borrowing
        # its speaker for a separate one was right 48% of the time out of fold on train, once
        # the rules above had taken the quotes with a cue of their own)
        if text[paras[p][0]:q.start].strip() == "" and model.merge_following_quotes:
            before = [a for a in by_start if a.end <= q.start and a.source is not None
                      and para_of(a.start) == p - 1]
            if before:
                prev = before[-1]
                prev.content = tuple(sorted(prev.content + q.pieces))
                prev.origin += "+next-paragraph"
                prev.kind = _kind(text, prev.content)
                continue
        # no cue: no speaker. (Borrowing the nearest attribution's speaker before it, in this
        # paragraph or the one before, was right for 4 of 47 such quotes out of fold on PolNeAR
        # train: a wrong name is worse than none.)
        found.append(Attribution(content=q.pieces, cue=None, source=None, kind=_kind(text, q.pieces),
                                 score=0.3, origin="quote:alone", sentence=view.sent_of[span.start]))
    return found
