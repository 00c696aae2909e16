"""Guideline cues: how often an item's headline and body use the words the stance guidelines
decide on, pooled into seven families, as features beside the n-grams.

The annotation guidelines (``corpus/GUIDELINES.md``) settle stance by what an authority or a
company does: bars or halts a use (``ban``), warns of harm or campaigns against it (``ban``),
sets or enforces rules (``oversight``), deploys or sells it (``neutral``). Word n-grams see
each of those words on its own ("shut", "shutters", "shutting", "ditch", "scraps" ...) and a
rare form gets little weight; here the forms of one family count together, once for the
headline and once for the rest of the text, so the logistic regression learns one weight per
family and place. Measured by grouped 5-fold CV over train + dev (README, "How it was
chosen"): the n-gram logistic regression gains about 0.03 stance macro-F1 from them, the
vote with the embedding SVM about 0.008 on each of four fold seeds.

The transformer is stateless (``fit`` learns nothing), so it pickles small and a text's
features never depend on the others in its batch.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

#: Families of cue words (regular expressions, case-insensitive, whole words), in feature order.
FAMILIES: dict[str, str] = {
    # An authority or company bars, halts, pauses or pulls out of a use: ban.
    "halt": r"\b(ban|bans|banned|banning|bar|bars|barred|barring|prohibit\w*|outlaw\w*|moratori\w*|"
            r"halt\w*|stop|stops|stopped|stopping|shut\w*|pause[sd]?|pausing|suspend\w*|scrap\w*|"
            r"ditch\w*|drop|drops|dropped|dropping|abandon\w*|end|ends|ended|ending|axe[sd]?|axing|"
            r"kill\w*|quit\w*|block\w*|reject\w*|refus\w*|purg\w*|retreat\w*|phas\w+ out|"
            r"pull\w* (out|back|the plug)|back\w* (away|off|down)|walk\w* away|no longer|get rid)\b",
    # Exposés of harm or abuse, framed as a reason to stop: ban.
    "harm": r"\b(wrongful\w*|misidentif\w*|false(ly)? (arrest|match)\w*|bias\w*|racis\w*|discriminat\w*|"
            r"creep\w*|dystop\w*|abus\w*|misuse\w*|threat\w*|danger\w*|invasive|civil libert\w*|"
            r"mass surveillance|spy\w*|secret\w*|covert\w*)\b",
    # Calls and campaigns (the guidelines' "calls to stop use").
    "campaign": r"\b(urg\w*|call\w* (for|on)|demand\w*|push\w* (for|to)|petition\w*|campaign\w*|activist\w*|"
                r"advocat\w*|coalition|letter)\b",
    # Rules that keep the technology in use: oversight.
    "rules": r"\b(regulat\w*|rules?|legislat\w*|laws?|bill|bills|guidance|guideline\w*|standards?|framework|"
             r"code of (practice|conduct)|safeguard\w*|oversight|accountab\w*|transparen\w*|audit\w*|"
             r"warrants?|consent|opt[- ]?out|restrict\w*|limit\w*|responsibl\w*|ethic\w*|testing|accuracy|"
             r"polic(y|ies)|privacy law|BIPA|GDPR)\b",
    # Enforcement without stopping the use (fines, suits, settlements, rulings): oversight.
    "enforcement": r"\b(fine|fines|fined|penalt\w*|sue|sues|sued|suing|lawsuit\w*|settle\w*|class[- ]action|"
                   r"watchdog|regulator\w*|commissioner|ico|ftc|investigat\w*|probe\w*|violat\w*|breach\w*|"
                   r"court|judge|ruling|rules that)\b",
    # Product, deployment and market news: neutral.
    "deployment": r"\b(launch\w*|roll\w* out|rollout|deploy\w*|unveil\w*|introduc\w*|partner\w*|expand\w*|"
                  r"install\w*|adopt\w*|pilot\w*|trial\w*|upgrade\w*|contract\w*|market|funding|raises?|"
                  r"acquir\w*|startup|airport\w*|boarding|unlock\w*|payment\w*|app|apps|feature)\b",
    # An operator defending its use (the tool that helped catch a suspect): neutral.
    "defence": r"\b(defend\w*|insist\w*|tool|helps?|helped|solv\w*|catch\w*|caught|"
               r"arrest(s|ed)? (of|a|an|suspect)\w*|identif(y|ied) (suspect|victim)\w*)\b",
}
_COMPILED = tuple(re.compile(rx, re.IGNORECASE) for rx in FAMILIES.values())
_BY_NAME = dict(zip(FAMILIES, _COMPILED))
PLACES = ("headline", "body")


def family_counts(text: str) -> list[int]:
    """How many words of each family ``text`` holds, in FAMILIES order."""
    return [sum(1 for _ in rx.finditer(text)) for rx in _COMPILED] if text else [0] * len(_COMPILED)


def matched_words(family: str, text: str, limit: int = 3) -> list[str]:
    """The first ``limit`` distinct words (lower case) of ``family`` in ``text``, in text order."""
    out: list[str] = []
    for m in _BY_NAME[family].finditer(text or ""):
        w = m.group(0).lower()
        if w not in out:
            out.append(w)
            if len(out) == limit:
                break
    return out


def explained(name: str, title: str, text: str) -> str:
    """A cue feature's name with the words that made it, for an analyst to check:
    "halt words in headline" -> "halt words in headline (shuts down, moratorium)"."""
    family, _, place = name.partition(" words in ")
    if family not in _BY_NAME or place not in PLACES:
        return name
    head, body = split_headline(title, text)
    words = matched_words(family, head if place == "headline" else body)
    return f"{name} ({', '.join(words)})" if words else name


def split_headline(title: str, text: str) -> tuple[str, str]:
    """(headline, body): the body is ``text`` without the headline it may start with."""
    title, text = title or "", text or ""
    return title, (text[len(title):] if title and text.startswith(title) else text)


class GuidelineCues(BaseEstimator, TransformerMixin):
    """(title, text) columns -> log(1 + count) of each family in the headline, then in the body."""

    def fit(self, X: pd.DataFrame, y: Iterable | None = None) -> "GuidelineCues":
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        rows = []
        for title, text in zip(X["title"], X["text"]):
            head, body = split_headline(title, text)
            rows.append(family_counts(head) + family_counts(body))
        dense = np.log1p(np.asarray(rows, dtype=float).reshape(len(rows), 2 * len(FAMILIES)))
        return sp.csr_matrix(dense)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"{family} words in {place}" for place in PLACES for family in FAMILIES], dtype=object)
