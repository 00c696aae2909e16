"""Named entities of one article and the fullest name of each.

``entity_rows(doc)`` lists every ``doc.ents`` entity with its character offsets, spaCy
label, sentence index and ``canonical`` name: the fullest name the article gives the same
entity. ``EntityIndex(doc)`` holds the same mentions for look-ups (the canonical name of a
span, the people or organisations named before a position), which ``speakers`` uses.

How the canonical name is chosen:

- every mention is first *cleaned*: a leading "the", a trailing possessive "'s" and, for
  people, leading courtesy titles and ranks ("Mr.", "Dr.", "Sergeant") are dropped;
- a **person** mention takes the longest person name of the article that ends with the same
  words ("Greer" -> "Evan Greer"); when several different people share the ending, the
  nearest one before the mention wins (else the first one after it);
- any **other** mention takes the longest mention of the same label that contains its words
  as a whole-word run ("Police Foundation" -> "National Police Foundation"), or, for an
  acronym, a same-label mention whose initials spell it ("ACLU" -> "American Civil
  Liberties Union").

A mention whose cleaned text is also the text of an organisation mention elsewhere in the
article is treated as an organisation, so a name the recogniser labels inconsistently
("Fight for the Future" as WORK_OF_ART once and ORG once) still gets one canonical name.

Everything is a pure function of the ``Doc``; offsets are character offsets into ``doc.text``.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from spacy.attrs import POS
from spacy.tokens import Doc, Span

#: Labels of people and of speaking bodies (organisations, nationalities / parties, places).
PERSON_LABELS = frozenset({"PERSON"})
ORG_LABELS = frozenset({"ORG", "NORP", "GPE", "FAC"})

#: Courtesy titles and ranks dropped from the front of a person's name (lower case, no dot).
PERSON_TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "rev", "reverend",
    "sgt", "sergeant", "officer", "detective", "det", "lt", "lieutenant", "capt", "captain", "cpl",
    "corporal", "col", "colonel", "gen", "general", "maj", "major", "chief", "sheriff", "deputy",
    "sen", "senator", "rep", "representative", "gov", "governor", "mayor", "president", "judge",
    "justice", "commissioner", "councilmember", "councilman", "councilwoman", "councillor",
    "supervisor", "secretary", "minister", "chancellor", "superintendent", "inspector", "trooper",
    "attorney", "ceo", "pastor", "father", "rabbi", "imam", "state", "u.s", "us", "police", "board",
    "city", "county", "vice", "assistant", "assemblymember", "assemblyman", "assemblywoman",
    "congressman", "congresswoman", "executive", "director", "chair", "chairman", "chairwoman",
})
#: Titles only a person bears: an ORG mention opening with one is a person ("Councilmember
#: Bernard Kwan" labelled ORG).
PERSON_ONLY_TITLES = frozenset({
    "mr", "mrs", "ms", "dr", "sen", "senator", "rep", "councilmember", "councilman", "councilwoman",
    "councillor", "assemblymember", "assemblyman", "assemblywoman", "congressman", "congresswoman",
    "mayor", "gov", "governor", "sgt", "sergeant", "detective", "lt", "capt", "judge", "sheriff",
    "supervisor", "commissioner", "prof", "professor",
})
#: Words skipped when spelling an acronym from a name ("Fight for the Future" -> FFTF or FF).
_MINOR_WORDS = frozenset({"of", "for", "the", "and", "&", "on", "in", "to", "at", "a", "an"})
_POSSESSIVE = re.compile(r"\s*['’]s?$")
_LEADING_THE = re.compile(r"^(?:the|The|THE)\s+")
_ACRONYM = re.compile(r"^(?:[A-Z]\.?){2,8}$|^[A-Z][A-Z&]{1,7}$")
_WORD = re.compile(r"[\w][\w.&'’-]*")


@dataclass(frozen=True)
class Mention:
    """One entity mention; ``start``/``end`` are token indices, the ``*_char`` ones characters."""

    start: int
    end: int
    start_char: int
    end_char: int
    text: str
    label: str
    sentence: int
    name: str  # the cleaned text (no leading "the", possessive, or person title)
    group: str  # "person", "org" (ORG), "body" (NORP/GPE/FAC) or "other"; corrected by agreement
    canonical: str = ""

    @property
    def token_range(self) -> range:
        return range(self.start, self.end)


# --------------------------------------------------------------------------- cleaning


def strip_possessive(text: str) -> str:
    """``"Amazon's"`` -> ``"Amazon"``; ``"groups'"`` -> ``"groups"``."""
    return _POSSESSIVE.sub("", text.strip())


def strip_the(text: str) -> str:
    """Drop one leading "the" ("the National Police Foundation" -> "National Police Foundation")."""
    return _LEADING_THE.sub("", text.strip())


def is_title(word: str) -> bool:
    """``word`` is a courtesy title or rank ("Dr.", "Sergeant", "Councilmembers")."""
    w = word.lower().rstrip(".")
    return w in PERSON_TITLES or (w.endswith("s") and w[:-1] in PERSON_TITLES)


def strip_titles(words: list[str]) -> list[str]:
    """A person's name without the titles and ranks before it: everything up to the last
    title word goes ("Harborview Police Chief Robert Alvarez" -> "Robert Alvarez"), but
    never the last word, and nothing when the name does not open with a title or place."""
    last = -1
    for k, w in enumerate(words[:-1]):
        if is_title(w):
            last = k
    if last < 0:
        return words
    if not all(is_title(w) or w[:1].isupper() for w in words[:last]):
        return words
    return words[last + 1:]


def clean_name(text: str, label: str) -> str:
    """The bare name of a mention: no leading "the", no possessive, no person title."""
    text = strip_the(strip_possessive(" ".join(text.split())))
    if label in PERSON_LABELS:
        text = " ".join(strip_titles(text.split()))
    return text


def words(text: str) -> list[str]:
    return list(_words(text))


@functools.lru_cache(maxsize=8192)
def _words(text: str) -> tuple[str, ...]:
    # names are compared with every other mention of the article: split each one once
    return tuple(_WORD.findall(text))


@functools.lru_cache(maxsize=8192)
def _lower_words(text: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _words(text))


def initials(name: str) -> set[str]:
    """Acronyms a name may go by: initials of its capitalised words, and of all its words."""
    ws = [w for w in words(name) if w[:1].isalnum()]
    major = "".join(w[0] for w in ws if w.lower() not in _MINOR_WORDS and w[0].isupper())
    every = "".join(w[0] for w in ws if w.lower() != "the")
    return {major.upper(), every.upper()} - {""}


def is_acronym(text: str) -> bool:
    return bool(_ACRONYM.match(text.strip()))


def contains_run(outer: list[str], inner: list[str]) -> bool:
    """``inner`` occurs in ``outer`` as a contiguous run of whole words (case-insensitive)."""
    if not inner or len(inner) > len(outer):
        return False
    o = [w.lower() for w in outer]
    n = [w.lower() for w in inner]
    return any(o[k:k + len(n)] == n for k in range(len(o) - len(n) + 1))


# --------------------------------------------------------------------------- the index


def _group(label: str) -> str:
    if label in PERSON_LABELS:
        return "person"
    if label in ORG_LABELS:
        return "org" if label == "ORG" else "body"
    return "other"


def _sentence_starts(doc: Doc) -> list[int]:
    if not doc.has_annotation("SENT_START"):
        return [0]
    return [s.start for s in doc.sents]


class EntityIndex:
    """The entity mentions of one ``Doc`` in text order, each with its canonical name."""

    def __init__(self, doc: Doc, text: str | None = None) -> None:
        self.doc = doc
        # Doc.text joins every token on each access: read it once (or take it from the caller)
        self.text = doc.text if text is None else text
        self._sent_starts = _sentence_starts(doc)
        raw = [self._mention(ent) for ent in doc.ents]
        raw = self._agree_groups(raw)
        untagged = self._untagged_names(raw)
        pool = raw + untagged
        # many mentions share a name ("Greer" ten times): the pool is scanned once per distinct
        # name, and only the position-dependent choice is made per mention
        self._candidates: dict[tuple, list[Mention]] = {}
        self.mentions: list[Mention] = [self._with_canonical(m, pool) for m in raw]
        #: person names found outside ``doc.ents`` (see ``_untagged_names``), canonical set
        self.untagged: list[Mention] = [self._with_canonical(m, pool) for m in untagged]
        self._by_token: dict[int, Mention] = {}
        for m in self.mentions:
            for i in m.token_range:
                self._by_token[i] = m
        self._starts = [m.start_char for m in self.mentions]

    # ------------------------------------------------------------------ building

    def sentence_of(self, token_index: int) -> int:
        return max(0, bisect_right(self._sent_starts, token_index) - 1)

    def _mention(self, ent: Span) -> Mention:
        name = clean_name(_own_paragraph(ent), ent.label_)
        return Mention(ent.start, ent.end, ent.start_char, ent.end_char, ent.text, ent.label_,
                       self.sentence_of(ent.start), name, _group(ent.label_))

    @staticmethod
    def _agree_groups(mentions: list[Mention]) -> list[Mention]:
        """Correct the recogniser by the article's other mentions: an ORG mention opening
        with a person-only title ("Councilmember Bernard Kwan") is a person; then a mention
        whose words end a person's name ("Whitlock" labelled ORG after "Dana Whitlock") is
        that person; a lone word that opens an ORG name ("Corvane" after "Corvane
        Semiconductor") and a name that is also an ORG mention's name are organisations."""
        titled = []
        for m in mentions:
            first = words(m.name.lower())[:1]
            if m.label == "ORG" and len(words(m.name)) >= 2 and first[0].rstrip(".") in PERSON_ONLY_TITLES:
                m = _replace(m, group="person", name=" ".join(strip_titles(m.name.split())))
            titled.append(m)
        org_names = {m.name.lower() for m in titled if m.label == "ORG" and m.group != "person"}
        org_words = [words(m.name.lower()) for m in titled if m.label == "ORG" and m.group != "person"]
        # the proper word endings of every person's name ("Whitlock" of "Dana Whitlock"), and
        # the first words of organisations' names of two words or more
        person_endings = {tuple(p[k:]) for m in titled if m.group == "person"
                          for p in (words(m.name.lower()),) for k in range(1, len(p))}
        org_firsts = {o[0] for o in org_words if len(o) > 1}
        out = []
        for m in titled:
            mine = words(m.name.lower())
            ends_person = bool(mine) and tuple(mine) in person_endings
            if m.group != "person" and ends_person:
                m = _replace(m, group="person")
            elif m.group == "person" and len(mine) == 1 and not ends_person and mine[0] in org_firsts:
                m = _replace(m, group="org")
            elif m.group == "other" and m.name.lower() in org_names:
                m = _replace(m, group="org")
            out.append(m)
        return out

    def _untagged_names(self, mentions: list[Mention]) -> list[Mention]:
        """Person names the recogniser missed, as candidates for canonical names only: runs
        of two or more proper nouns (after titles) outside every non-person entity, whose
        last word ends a person mention ("Councilmember Lena Park:" gives "Park" its full
        name)."""
        doc = self.doc
        taken = {i for m in mentions if m.group != "person" for i in m.token_range}
        surnames = {words(m.name.lower())[-1] for m in mentions if m.group == "person" and words(m.name)}
        out: list[Mention] = []
        run: list = []
        propn = doc.vocab.strings["PROPN"]
        pos = doc.to_array(POS).tolist() if len(doc) else []
        for i in range(len(doc) + 1):
            # only proper nouns become Token objects (one per word is the slow part)
            tok = doc[i] if i < len(doc) and pos[i] == propn else None
            if tok is not None and tok.i not in taken and tok.text[:1].isupper():
                run.append(tok)
                continue
            if not run:
                continue
            names = strip_titles([t.text for t in run])
            if len(names) >= 2 and names[-1].lower() in surnames:
                first = run[len(run) - len(names)]
                last = run[-1]
                text = self.text[first.idx:last.idx + len(last.text)]
                out.append(Mention(first.i, last.i + 1, first.idx, last.idx + len(last.text), text, "PERSON",
                                   self.sentence_of(first.i), " ".join(text.split()), "person"))
            run = []
        return out

    def _with_canonical(self, m: Mention, pool: list[Mention]) -> Mention:
        if m.group == "person":
            key = ("person", m.name)
            if key not in self._candidates:
                self._candidates[key] = _person_candidates(m, pool)
            return _replace(m, canonical=_nearest_name(m, self._candidates[key]))
        key = (m.group, m.label, m.name)
        if key not in self._candidates:
            self._candidates[key] = [_replace(m, canonical=_other_canonical(m, pool))]
        return _replace(m, canonical=self._candidates[key][0].canonical)

    # ------------------------------------------------------------------ look-ups

    def at_token(self, i: int) -> Mention | None:
        """The mention that token ``i`` belongs to."""
        return self._by_token.get(i)

    def within(self, start_char: int, end_char: int) -> list[Mention]:
        """Mentions lying inside the characters ``[start_char, end_char)``."""
        lo = bisect_right(self._starts, start_char - 1)
        out = []
        for m in self.mentions[lo:]:
            if m.start_char >= end_char:
                break
            if m.end_char <= end_char:
                out.append(m)
        return out

    def canonical(self, start_char: int, end_char: int) -> str | None:
        """The canonical name of the mention covering (or lying in) a character span."""
        for m in self.within(start_char, end_char):
            return m.canonical
        for m in self.mentions:
            if m.start_char <= start_char and end_char <= m.end_char:
                return m.canonical
        return None

    def before(self, pos: int, groups: Iterable[str] = ("person",),
               where: Callable[[Mention], bool] | None = None) -> Iterator[Mention]:
        """Mentions of ``groups`` ending at or before character ``pos``, nearest first."""
        wanted = set(groups)
        hi = bisect_right(self._starts, pos)
        for m in reversed(self.mentions[:hi]):
            if m.end_char <= pos and m.group in wanted and (where is None or where(m)):
                yield m

    def person_named(self, name: str, pos: int) -> Mention | None:
        """The person whose name ends with the words of ``name`` (a surname the recogniser
        missed, say): the nearest such mention before ``pos``, else the first after it."""
        mine = [w.lower() for w in strip_titles(words(strip_possessive(name)))]
        if not mine:
            return None
        hits = [m for m in self.mentions if m.group == "person"
                and [w.lower() for w in words(m.canonical)][-len(mine):] == mine]
        earlier = [m for m in hits if m.start_char < pos]
        return earlier[-1] if earlier else (hits[0] if hits else None)

    def org_named(self, name: str, pos: int) -> Mention | None:
        """The organisation whose canonical name holds the words of ``name`` ("Board" ->
        "Port Sedge School Board"): the nearest before ``pos``, else the first after it."""
        mine = words(strip_the(strip_possessive(name)))
        hits = [m for m in self.mentions if m.group in ("org", "body") and contains_run(words(m.canonical), mine)]
        earlier = [m for m in hits if m.start_char < pos]
        return earlier[-1] if earlier else (hits[0] if hits else None)

    def persons(self) -> list[Mention]:
        return [m for m in self.mentions if m.group == "person"]


def _own_paragraph(ent: Span) -> str:
    """The entity's text, cut to the line holding its root when the recogniser ran a name
    across a line break ("Veridex Vision\n\nFeld" -> "Feld")."""
    if "\n" not in ent.text:
        return ent.text
    pieces = re.split(r"\s*\n\s*", ent.text)
    at = ent.root.idx - ent.start_char
    offset = 0
    for piece in pieces:
        k = ent.text.find(piece, offset)
        if k <= at < k + len(piece):
            return piece
        offset = k + len(piece)
    return pieces[-1]


def _replace(m: Mention, **kw) -> Mention:
    """``dataclasses.replace`` without its per-call field introspection (called per mention)."""
    return Mention(**{**m.__dict__, **kw})


def _person_canonical(m: Mention, pool: list[Mention]) -> str:
    """The longest person name ending with this mention's words; the nearest one when
    different people share that ending."""
    return _nearest_name(m, _person_candidates(m, pool))


def _person_candidates(m: Mention, pool: list[Mention]) -> list[Mention]:
    """The longest person mentions whose names end with ``m``'s words (empty: none longer)."""
    mine = _lower_words(m.name)
    best: list[Mention] = []
    best_len = len(mine)
    for o in pool:
        if o.group != "person":
            continue
        theirs = _lower_words(o.name)
        if len(theirs) < best_len or theirs[-len(mine):] != mine:
            continue
        if len(theirs) > best_len:
            best, best_len = [o], len(theirs)
        else:
            best.append(o)
    return best


def _nearest_name(m: Mention, best: list[Mention]) -> str:
    if not best:
        return m.name
    names = {o.name for o in best}
    if len(names) == 1:
        return best[0].name
    earlier = [o for o in best if o.start_char <= m.start_char]
    return (earlier[-1] if earlier else best[0]).name


def _other_canonical(m: Mention, pool: list[Mention]) -> str:
    """The longest same-label mention holding this one's words, else the one its acronym spells."""
    mine = words(m.name)
    same = [o for o in pool if o.group == m.group and (o.label == m.label or m.group == "org")]
    best = m.name
    for o in same:
        if len(o.name) > len(best) and contains_run(words(o.name), mine):
            best = o.name
    if best == m.name and is_acronym(m.name):
        letters = m.name.replace(".", "").upper()
        for o in same:
            if o is not m and letters in initials(o.name) and len(o.name) > len(best):
                best = o.name
    return best


# --------------------------------------------------------------------------- rows


def entity_rows(doc: Doc, index: EntityIndex | None = None) -> list[dict]:
    """One row per ``doc.ents`` entity: offsets, text, spaCy label, canonical name, sentence."""
    index = index or EntityIndex(doc)
    return [
        {
            "start_char": m.start_char,
            "end_char": m.end_char,
            "text": index.text[m.start_char:m.end_char],
            "label": m.label,
            "canonical": m.canonical,
            "sentence": m.sentence,
        }
        for m in index.mentions
    ]
