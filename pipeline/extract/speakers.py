"""Who each attribution's source is: a name, a type, and the role and organisation the
article gives that speaker.

``resolve_speakers(doc, attributions)`` returns one :class:`Speaker` per attribution, in the
same order. The source mention (``Attribution.source`` / ``source_token``) is resolved by

- a **name** in it -> the entity's canonical name ("Greer" -> "Evan Greer", "Sergeant Sean
  Whitcomb" -> "Sean Whitcomb"); a person is ``person``, an organisation, nationality or
  place ``organisation``;
- a **pronoun** -> the most recent plausible antecedent: for he / she / I the previous
  attribution's person speaker (when recent and of a compatible gender), else the nearest
  person named before; for it / they / we an organisation (the previous attribution's, else
  the nearest one named);
- a **description** -> "the spokesman" is the person the article earlier gave that role;
  "the department" / "the company" the nearest organisation that fits; "the groups" /
  "the letter" the earlier, fuller mention with the same head noun ("39 groups", "open
  letter"); documents (letter, report, study ...) are ``other``;
- otherwise the mention text itself (``other``), and ``unknown`` when nothing resolves.

Roles and organisations come from a per-article profile of each person, collected from
every mention of them: appositions ("Evan Greer, deputy director of Fight for the Future"),
copulas ("Greer is ..."), relative clauses ("X, who heads Y"), and the words before the
name ("Thorn CEO Julie Cordua", "spokesman Sergeant Sean Whitcomb"); an apposition wins
over a pre-name title, which wins over a rank inside the name.

Everything here is a pure, deterministic function of the ``Doc`` and the attributions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from spacy.tokens import Doc, Token

from pipeline.extract.entities import (PERSON_TITLES, EntityIndex, Mention, is_acronym, is_title,
                                       strip_possessive, strip_the, words)

PERSON, ORGANISATION, OTHER, UNKNOWN = "person", "organisation", "other", "unknown"


@dataclass(frozen=True)
class Speaker:
    """The resolved speaker of one attribution."""

    name: str | None
    type: str  # person / organisation / other / unknown
    role: str | None = None
    org: str | None = None


NO_SPEAKER = Speaker(None, UNKNOWN, None, None)

# --------------------------------------------------------------------------- lexicon

PERSON_PRONOUNS = {"he": "m", "him": "m", "she": "f", "her": "f", "i": "", "me": ""}
GROUP_PRONOUNS = frozenset({"it", "they", "them", "we", "us"})
#: Head nouns of descriptions that name a body of people.
ORG_NOUNS = frozenset({
    "company", "firm", "department", "agency", "group", "coalition", "organization", "organisation",
    "alliance", "association", "union", "council", "committee", "commission", "city", "county",
    "state", "government", "administration", "office", "foundation", "campaign", "nonprofit",
    "institute", "university", "college", "board", "police", "ministry", "lab", "laboratory",
    "startup", "maker", "vendor", "bank", "court", "party", "network", "center", "centre",
    "authority", "district", "school", "hospital", "corporation", "business", "retailer",
    "manufacturer", "provider", "platform", "airline", "airport", "newspaper", "outlet", "team",
    "industry", "sheriff's", "legislature", "senate", "house", "congress", "parliament", "panel",
    "society", "federation", "chamber", "bureau", "service", "consortium", "partnership",
})
#: Generic nouns for a business ("the company"): they fit an organisation whose name says
#: no kind of body ("Amazon", "Veridex Systems").
COMPANY_NOUNS = frozenset({"company", "firm", "startup", "maker", "vendor", "business", "corporation",
                           "retailer", "manufacturer", "provider", "platform", "contractor"})
#: Generic nouns for an advocacy or civic body ("the group"): they also fit names such as
#: "... Alliance" or "... Foundation".
GROUP_NOUNS = frozenset({"group", "organization", "organisation", "nonprofit"})
GROUP_NAME_WORDS = frozenset({"alliance", "coalition", "association", "union", "foundation", "campaign",
                              "federation", "society", "network", "group", "institute", "center",
                              "centre", "project", "fund", "league", "council", "committee"})
#: Head nouns of documents and other things that "say".
DOC_NOUNS = frozenset({
    "letter", "report", "study", "statement", "survey", "poll", "memo", "document", "filing",
    "complaint", "lawsuit", "suit", "release", "analysis", "audit", "paper", "review", "ruling",
    "order", "bill", "law", "proposal", "resolution", "petition", "post", "tweet", "email",
    "article", "editorial", "guidance", "policy", "ordinance", "draft", "plan", "benchmark",
    "evaluation", "assessment", "finding", "findings", "research", "series", "website", "blog",
    "brief", "testimony", "motion", "decision", "opinion", "announcement", "notice", "message",
    "video", "agreement", "contract", "framework", "rule", "regulation", "data", "test", "book",
})
#: Capitalised words that are job titles when they stand before a name.
TITLE_WORDS = frozenset({
    "ceo", "cfo", "cto", "coo", "cio", "vp", "chief", "director", "president", "chair", "chairman",
    "chairwoman", "chairperson", "senator", "sen.", "councilmember", "councilman", "councilwoman",
    "councillor", "mayor", "governor", "gov.", "secretary", "minister", "commissioner", "sheriff",
    "judge", "justice", "founder", "cofounder", "co-founder", "executive", "manager", "officer",
    "spokesman", "spokeswoman", "spokesperson", "representative", "rep.", "police", "deputy",
    "assistant", "vice", "superintendent", "supervisor", "attorney", "general", "state", "city",
    "county", "head", "lead", "senior", "principal", "professor", "prof.", "dr.", "researcher",
})
#: "X, who heads Y": the relative clause's verb -> the role it gives.
RELCL_ROLES = {"head": "head", "lead": "leader", "run": "head", "chair": "chair", "direct": "director",
               "found": "founder", "co-found": "co-founder", "cofound": "co-founder", "manage": "manager",
               "oversee": "head", "represent": "representative", "own": "owner"}
#: Prepositions introducing a role's organisation ("director of X", "spokesman for X").
ORG_PREPS = frozenset({"of", "at", "for", "with", "from"})
_GENDER_WORDS = {"mr": "m", "mr.": "m", "spokesman": "m", "chairman": "m", "councilman": "m",
                 "mrs": "f", "mrs.": "f", "ms": "f", "ms.": "f", "miss": "f", "spokeswoman": "f",
                 "chairwoman": "f", "councilwoman": "f"}
_DETERMINERS = frozenset({"a", "an", "the", "this", "that", "these", "those", "its", "their"})
#: Courtesy titles, which are not roles.
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame"})
#: How many sentences back the previous attribution's speaker still counts for a pronoun.
PRONOUN_WINDOW = 4


def _ws(text: str) -> str:
    return " ".join(text.split())


def _lemma(tok: Token) -> str:
    return tok.lemma_.lower()


def _same_noun(a: str, b: str) -> bool:
    """Two nouns are the same role word ("spokesman" / "spokeswoman" / "spokesperson" agree)."""
    a, b = a.lower().rstrip("s"), b.lower().rstrip("s")
    if a == b:
        return True
    return a.startswith("spokes") and b.startswith("spokes")


# --------------------------------------------------------------------------- profiles


@dataclass
class _Profile:
    """What the article says about one person; ``rank`` orders the evidence."""

    role: str | None = None
    role_rank: int = -1
    org: str | None = None
    org_rank: int = -1
    gender: str = ""

    def offer(self, role: str | None, org: str | None, rank: int) -> None:
        if role and rank > self.role_rank:
            self.role, self.role_rank = role, rank
            if org:
                self.org, self.org_rank = org, rank
        if org and rank > self.org_rank:
            self.org, self.org_rank = org, rank


def _span_text(doc: Doc, toks: Sequence[Token]) -> str:
    """Text from the first to the last token (a ``Span``'s text: ``doc.text`` is rebuilt from
    every token on each access, so it is never read in a loop)."""
    if not toks:
        return ""
    return _ws(doc[toks[0].i:toks[-1].i + 1].text)


def _mention_root(doc: Doc, m: Mention) -> Token:
    """The token of the mention whose head lies outside it."""
    for i in range(m.start, m.end):
        h = doc[i].head.i
        if h < m.start or h >= m.end or h == i:
            return doc[i]
    return doc[m.end - 1]


class _Resolver:
    """Speakers of one document: entity index, person profiles, resolution rules."""

    def __init__(self, doc: Doc, index: EntityIndex) -> None:
        self.doc = doc
        self.text = index.text
        self.index = index
        self.profiles: dict[str, _Profile] = {}
        self._chunk_list: list | None = None  # noun chunks, computed when first needed
        for m in index.mentions + index.untagged:
            if m.group == "person":
                self._profile_mention(m)

    def _chunks(self) -> list:
        if self._chunk_list is None:
            doc = self.doc
            self._chunk_list = list(doc.noun_chunks) if doc.has_annotation("DEP") else []
        return self._chunk_list

    # ------------------------------------------------------------------ organisations

    def org_name(self, tokens: Sequence[Token], pos: int, head: Token | None = None) -> str | None:
        """The organisation named by the phrase ``tokens`` (headed by ``head``, else its last
        token): an entity's canonical name, a description ("the group") resolved to an
        organisation before ``pos``, or the capitalised text; ``None`` for a person's name."""
        toks = [t for t in tokens if not t.is_space and t.text not in ("'s", "’s", "'", "’")]
        while toks and (toks[0].lower_ in _DETERMINERS or toks[0].is_punct):
            toks = toks[1:]
        if not toks:
            return None
        head = head if head is not None and head in toks else toks[-1]
        at_head = self.index.at_token(head.i)
        if at_head is not None and at_head.group == "person" and len(words(at_head.canonical)) > 1:
            return None  # "a spokeswoman for Mayor Owen Tate": a person, not an organisation
        for m in [at_head] + [self.index.at_token(t.i) for t in toks]:
            if m is not None and m.group in ("org", "body", "other"):
                return m.canonical
        if head.pos_ == "NOUN" and head.lower_ in ORG_NOUNS:
            m = self.org_for_noun(head.lower_, pos)
            return m.canonical if m else None
        if any(t.text[:1].isupper() for t in toks):
            text = strip_the(strip_possessive(_span_text(self.doc, toks)))
            named = self.index.org_named(text, pos)
            return named.canonical if named else text
        return None

    def org_for_noun(self, noun: str, pos: int) -> Mention | None:
        """The nearest organisation before ``pos`` that "the <noun>" can refer to: one whose
        name holds the noun ("the department"), or for a generic noun ("the company") one
        whose name says no other kind of body."""
        def names_it(m: Mention) -> bool:
            return any(_same_noun(w, noun) for w in words(m.canonical))

        hit = next(self.index.before(pos, ("org", "body"), names_it), None)
        if hit is not None or noun not in COMPANY_NOUNS | GROUP_NOUNS:
            return hit
        allowed = GROUP_NAME_WORDS if noun in GROUP_NOUNS else frozenset()

        def fits(m: Mention) -> bool:
            kinds = {w.lower() for w in words(m.canonical)} & (ORG_NOUNS | GROUP_NAME_WORDS)
            return m.group == "org" and kinds <= allowed

        return next(self.index.before(pos, ("org",), fits), None)

    # ------------------------------------------------------------------ person profiles

    def profile(self, name: str) -> _Profile:
        return self.profiles.setdefault(name, _Profile())

    def _profile_mention(self, m: Mention) -> None:
        doc = self.doc
        prof = self.profile(m.canonical)
        root = _mention_root(doc, m)
        for role, org, rank in self._role_evidence(m, root):
            prof.offer(_ws(role) if role else None, org, rank)
        for i in range(max(0, m.start - 3), m.end):
            g = _GENDER_WORDS.get(doc[i].lower_)
            if g and not prof.gender:
                prof.gender = g

    def _role_evidence(self, m: Mention, root: Token) -> Iterable[tuple[str | None, str | None, int]]:
        """(role, org, rank) facts about the person mention ``m`` whose root is ``root``."""
        for ch in root.children:
            if ch.dep_ == "appos" and ch.pos_ in ("NOUN", "PROPN") and self.index.at_token(ch.i) is None:
                yield (*self._role_np(ch, m.start_char), 3)
            elif ch.dep_ == "relcl":
                yield (*self._relcl_role(ch, m.start_char), 3)
        if root.dep_ == "appos" and root.head.pos_ == "NOUN":  # "the group's director, Dana Whitlock"
            yield (*self._role_np(root.head, m.start_char), 3)
        if root.dep_ in ("nsubj", "nsubjpass") and _lemma(root.head) == "be":
            for ch in root.head.children:
                if ch.dep_ == "attr" and ch.pos_ == "NOUN":
                    yield (*self._role_np(ch, m.start_char), 2)
        role, org = self._pre_name(m, root)
        if role or org:
            yield role, org, 1
        ranks = [w for w in m.text.split()[:-1] if w.lower().rstrip(".") in PERSON_TITLES
                 and w.lower().rstrip(".") not in HONORIFICS]
        if ranks:
            yield " ".join(ranks), None, 0

    def _role_np(self, head: Token, pos: int) -> tuple[str | None, str | None]:
        """Role and organisation of a role noun phrase ("deputy director of Fight for the
        Future", "the group's policy director", "a Veridex spokeswoman")."""
        doc = self.doc
        org = None
        role_toks: list[Token] = []
        owners = [t for t in doc[head.left_edge.i:head.i] if _is_possessor(t)]
        for t in doc[head.left_edge.i:head.i + 1]:
            if any(t.i == o.i or o.left_edge.i <= t.i <= o.i + 1 for o in owners):
                continue
            if t.dep_ in ("det", "punct", "case") or t.is_space:
                continue
            m = self.index.at_token(t.i)
            if m is not None and m.group in ("org", "body", "other"):
                org = org or m.canonical
                continue
            if t.pos_ == "PROPN" and t.lower_ not in TITLE_WORDS:
                org = org or t.text
                continue
            role_toks.append(t)
        for o in owners:
            if org is None:
                org = self.org_name(list(doc[o.left_edge.i:o.i + 1]), pos)
        suffix = ""
        for ch in head.children:
            if ch.dep_ == "prep" and ch.lower_ in ORG_PREPS and ch.i > head.i:
                objs = [g for g in ch.children if g.dep_ == "pobj"]
                if not objs:
                    continue
                obj = objs[0]
                found = self.org_name(list(doc[obj.left_edge.i:obj.right_edge.i + 1]), pos, obj)
                if found and org is None:
                    org = found
                elif not found and not suffix:
                    suffix = " " + _span_text(doc, list(doc[ch.i:obj.i + 1]))
                break
        role = _span_text(doc, role_toks) + suffix if role_toks else None
        return role, org

    def _relcl_role(self, verb: Token, pos: int) -> tuple[str | None, str | None]:
        """"X, who heads Y" -> ("head", Y); "X, who is the director of Y" -> the attribute's role."""
        lemma = _lemma(verb)
        for ch in verb.children:
            if lemma == "be" and ch.dep_ == "attr" and ch.pos_ == "NOUN":
                return self._role_np(ch, pos)
            if lemma in RELCL_ROLES and ch.dep_ == "dobj":
                org = self.org_name(list(self.doc[ch.left_edge.i:ch.right_edge.i + 1]), pos, ch)
                if org:  # "who leads the Tenants Union", not "who led the study"
                    return RELCL_ROLES[lemma], org
        return None, None

    def _pre_name(self, m: Mention, root: Token) -> tuple[str | None, str | None]:
        """The title before a name in its noun phrase ("Thorn CEO", "spokesman", "Amazon CEO")."""
        doc = self.doc
        before = [t for t in doc[root.left_edge.i:m.start] if not t.is_space and t.dep_ != "det"
                  and not t.is_punct]
        role: list[Token] = []
        k = len(before)
        while k > 0:
            t = before[k - 1]
            ent = self.index.at_token(t.i)
            titled = (t.lower_ in TITLE_WORDS or _lemma(t) in TITLE_WORDS or is_title(t.text)
                      or (t.text.islower() and t.pos_ in ("NOUN", "ADJ")))
            if not titled or (ent is not None and ent.group in ("org", "body") and t.lower_ not in TITLE_WORDS):
                break
            role.insert(0, t)
            k -= 1
        org_toks = before[:k]
        org = self.org_name(org_toks, m.start_char) if org_toks else None
        return (_span_text(doc, role) if role else None), org

    # ------------------------------------------------------------------ mentions

    def person(self, name: str) -> Speaker:
        p = self.profiles.get(name, _Profile())
        return Speaker(name, PERSON, p.role, p.org)

    def mention_of(self, tok: Token, span: tuple[int, int]) -> Mention | None:
        """The entity the source names: the one holding its head token, else a person in it,
        else any entity in it (the last one, nearest the head)."""
        m = self.index.at_token(tok.i)
        if m is not None:
            return m
        inside = self.index.within(*span)
        persons = [x for x in inside if x.group == "person"]
        if persons:
            return persons[-1]
        for ch in tok.children:  # "the spokesman, Sean Whitcomb,"
            if ch.dep_ == "appos":
                m = self.index.at_token(ch.i)
                if m is not None and m.group == "person":
                    return m
        named = [x for x in inside if x.group in ("org", "body")]
        return named[-1] if named else None

    def from_mention(self, m: Mention) -> Speaker:
        if m.group == "person":
            return self.person(m.canonical)
        if m.group in ("org", "body"):
            return Speaker(m.canonical, ORGANISATION, None, None)
        return Speaker(m.canonical, OTHER, None, None)

    def _mention_text(self, tok: Token, span: tuple[int, int]) -> str:
        """The source mention, stretched over coordinated nouns ("civil liberty and privacy
        groups") and an "of" phrase ("a coalition of law enforcement groups"), without a
        leading indefinite article."""
        doc = self.doc
        end = max(span[1], _stretch(tok))
        text = _ws(self.text[span[0]:end])
        return re.sub(r"^(?:an?|An?)\s+", "", text)

    def antecedent(self, tok: Token) -> str | None:
        """The nearest earlier noun phrase with the same head noun and more words than
        "the <noun>" ("39 groups" for "the groups", "open letter" for "the letter")."""
        lemma = _lemma(tok)
        for ch in reversed(self._chunks()):
            root = ch.root
            if root.i >= tok.i or _lemma(root) != lemma:
                continue
            end = _stretch(root)
            toks = [t for t in ch if t.lower_ not in _DETERMINERS and not t.is_space]
            if any(t.dep_ == "poss" for t in toks):
                continue
            if end > root.idx + len(root.text):
                return re.sub(r"^(?:an?|An?|the|The)\s+", "", _ws(self.text[ch.start_char:end]))
            extra = [t for t in toks if t.i != root.i]
            if extra and all(t.pos_ in ("NUM", "ADJ", "NOUN", "PROPN", "VERB") for t in extra):
                return _span_text(self.doc, toks)
        return None

    # ------------------------------------------------------------------ the rules

    def resolve(self, tok: Token, span: tuple[int, int], history: list[tuple[int, Speaker]]) -> Speaker:
        if tok.tag_ in ("WDT", "WP") and tok.head.dep_ == "relcl":  # "the group, which said"
            tok = tok.head.head
            span = (tok.left_edge.idx, tok.idx + len(tok.text))
        m = self.mention_of(tok, span)
        if m is not None:
            return self.from_mention(m)
        low = tok.lower_
        if tok.pos_ == "PRON" or low in PERSON_PRONOUNS or low in GROUP_PRONOUNS:
            return self.pronoun(tok, history)
        if tok.pos_ == "PROPN":
            return self.bare_name(tok, span)
        return self.description(tok, span)

    def pronoun(self, tok: Token, history: list[tuple[int, Speaker]]) -> Speaker:
        low = tok.lower_
        sent = self.index.sentence_of(tok.i)
        recent = [s for k, s in reversed(history) if sent - k <= PRONOUN_WINDOW]
        if low in PERSON_PRONOUNS:
            gender = PERSON_PRONOUNS[low]
            for s in recent:
                if s.type == PERSON and s.name and self._fits(s.name, gender):
                    return self._note_gender(s, gender)
            for m in self.index.before(tok.idx, ("person",)):
                if self._fits(m.canonical, gender):
                    return self._note_gender(self.person(m.canonical), gender)
            return Speaker(tok.text, UNKNOWN)
        if low in GROUP_PRONOUNS:
            for s in recent[:1]:
                if s.type in (ORGANISATION, OTHER) and s.name:
                    return s
                if low in ("we", "us") and s.type == PERSON and s.org:
                    return Speaker(s.org, ORGANISATION)
            m = next(self.index.before(tok.idx, ("org", "body")), None)
            if m is not None:
                return self.from_mention(m)
        return Speaker(tok.text, UNKNOWN)

    def _fits(self, name: str, gender: str) -> bool:
        known = self.profiles.get(name, _Profile()).gender
        return not gender or not known or known == gender

    def _note_gender(self, s: Speaker, gender: str) -> Speaker:
        if gender and s.name:
            p = self.profile(s.name)
            p.gender = p.gender or gender
        return s

    def bare_name(self, tok: Token, span: tuple[int, int]) -> Speaker:
        """A proper noun the recogniser did not tag: a known person's surname, an
        organisation-like name, else a name as written."""
        text = self._mention_text(tok, span)
        m = self.index.person_named(text, tok.idx)
        if m is not None:
            return self.person(m.canonical)
        last = words(text)[-1].lower() if words(text) else ""
        if is_acronym(tok.text) or last in ORG_NOUNS:
            return Speaker(strip_the(text), ORGANISATION)
        return Speaker(text, OTHER)

    def description(self, tok: Token, span: tuple[int, int]) -> Speaker:
        """"the spokesman", "the company", "the groups", "the letter", "critics"..."""
        noun = tok.lower_
        lemma = _lemma(tok)
        kinds = {lemma} | {_lemma(c) for c in tok.children if c.dep_ == "conj" and c.pos_ == "NOUN"}
        plural = tok.tag_ in ("NNS", "NNPS")
        if not plural:
            person = self.person_with_role(lemma, tok.idx)
            if person is not None:
                return self.person(person)
            if lemma in ORG_NOUNS or noun in ORG_NOUNS:
                m = self.org_for_noun(lemma, tok.idx)
                if m is not None:
                    return self.from_mention(m)
        text = self._mention_text(tok, span)
        definite = text.lower().startswith(("the ", "this ", "that ", "these ", "those "))
        if definite and len(words(text)) <= 3:
            text = self.antecedent(tok) or text
        if lemma in DOC_NOUNS:
            return Speaker(text, OTHER)
        if kinds & ORG_NOUNS:
            return Speaker(text, ORGANISATION)
        if not plural and (lemma in TITLE_WORDS or lemma.startswith("spokes")):
            return Speaker(text, PERSON, *self._role_np(tok, tok.idx))
        return Speaker(text, OTHER)

    def person_with_role(self, noun: str, pos: int) -> str | None:
        """The nearest person named before ``pos`` whose role ends with ``noun``."""
        for m in self.index.before(pos, ("person",)):
            role = self.profiles.get(m.canonical, _Profile()).role
            if role and _same_noun(role_head(role), noun):
                return m.canonical
        return None


def role_head(role: str) -> str:
    """The head noun of a role: its last word before a preposition ("spokesman for the
    mayor" -> "spokesman", "deputy director" -> "director")."""
    head = []
    for w in role.split():
        if w.lower() in ORG_PREPS and head:
            break
        head.append(w)
    return head[-1] if head else role


def _is_possessor(tok: Token) -> bool:
    """``tok`` heads a possessive ("the group's", "Veridex's", "its")."""
    return tok.dep_ == "poss" or any(c.tag_ == "POS" for c in tok.children)


def _stretch(tok: Token, max_words: int = 12) -> int:
    """Where a description headed by ``tok`` ends once its coordinated nouns and an "of"
    phrase after it are included (character offset); just past ``tok`` when there are none."""
    end = tok.idx + len(tok.text)
    for ch in tok.children:
        if ch.i < tok.i:
            continue
        if ch.dep_ == "conj" and ch.pos_ in ("NOUN", "PROPN"):
            end = max(end, ch.idx + len(ch.text))
        elif ch.dep_ == "prep" and ch.lower_ in ("of", "for") and ch.right_edge.i - tok.i <= max_words:
            last = ch.right_edge
            end = max(end, last.idx + len(last.text))
    return end


# --------------------------------------------------------------------------- entry point


def resolve_speakers(doc: Doc, attributions: Sequence, index: EntityIndex | None = None) -> list[Speaker]:
    """One :class:`Speaker` per attribution, in order (``None`` name when there is no source)."""
    resolver = _Resolver(doc, index or EntityIndex(doc))
    order = sorted(range(len(attributions)), key=lambda k: (_source_pos(attributions[k]), k))
    out: list[Speaker] = [NO_SPEAKER] * len(attributions)
    history: list[tuple[int, Speaker]] = []
    for k in order:
        a = attributions[k]
        tok = _source_tok(doc, a)
        if tok is None:
            continue
        spk = resolver.resolve(tok, a.source, history)
        out[k] = spk
        history.append((resolver.index.sentence_of(tok.i), spk))
    return out


def _source_pos(a) -> int:
    if a.source is not None:
        return a.source[0]
    return a.content[0][0] if a.content else 0


def _source_tok(doc: Doc, a) -> Token | None:
    """The head token of the source mention (from ``source_token``, else the span's root)."""
    if a.source is None:
        return None
    if a.source_token is not None and 0 <= a.source_token < len(doc):
        return doc[a.source_token]
    span = doc.char_span(a.source[0], a.source[1], alignment_mode="expand")
    return span.root if span is not None and len(span) else None
