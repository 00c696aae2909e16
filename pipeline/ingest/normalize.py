"""Cleaning of text, URLs and dates. Pure functions; no I/O.

The stored ``text`` of an article is built by :func:`build_text`:

    text = "\\n\\n".join(part for part in (title, lead, body) if part)

where every part is cleaned by :func:`clean_text`, and ``lead`` is the excerpt unless
the body already starts with it (aggregator excerpts are usually the body's opening
words, cut short). Quotation marks are left exactly as written.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import html
import re
import unicodedata
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dateutil import parser as dateutil_parser

# HTML elements we strip as tags. Only these names count, so that plain text such as
# "a <b and c> d" from a non-HTML source is rarely touched; "<script>" style blocks lose
# their content too.
_HTML_ELEMENTS = (
    "a abbr address article aside audio b bdi bdo blockquote body br button caption cite code "
    "col colgroup data dd del details dfn dialog div dl dt em embed fieldset figcaption figure "
    "font footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe img input ins kbd label "
    "legend li link main mark meta nav noscript object ol optgroup option output p param picture "
    "pre q s samp script section select small source span strike strong style sub summary sup "
    "svg table tbody td template textarea tfoot th thead time title tr track u ul var video wbr"
).split()
_BLOCK_ELEMENTS = set(
    "address article aside blockquote body br dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr html li main nav ol p pre section table tbody "
    "td tfoot th thead tr ul".split()
)
_NAMES = "|".join(sorted(_HTML_ELEMENTS, key=len, reverse=True))
_DROPPED = ("script", "style", "noscript", "template", "iframe", "object", "svg")
_DROP_OPEN = {name: re.compile(rf"<{name}\b[^<>]*>", re.IGNORECASE) for name in _DROPPED}
_DROP_CLOSE = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _DROPPED}
_COMMENT_OPEN, _COMMENT_CLOSE = re.compile(r"<!--"), re.compile(r"-->")
_TAG = re.compile(rf"</?({_NAMES})\b(?:[^<>\"']|\"[^\"]*\"|'[^']*')*/?>", re.IGNORECASE)
_ENTITY = re.compile(r"&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")
# C0/C1 control characters other than tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANK_RUNS = re.compile(r"[ \t]*\n[ \t]*\n[ \t\n]*")
_WORD = re.compile(r"\w+")


def _remove_spans(s: str, opener: re.Pattern[str], closer: re.Pattern[str]) -> str:
    """Remove every opener...closer span in one left-to-right pass (linear, even when unclosed)."""
    out, pos = [], 0
    while True:
        m = opener.search(s, pos)
        if m is None:
            break
        end = closer.search(s, m.end())
        if end is None:  # no closer anywhere after: later openers cannot close either
            break
        out.append(s[pos : m.start()])
        pos = end.end()
    out.append(s[pos:])
    return "".join(out)


def _replace_tag(match: re.Match[str]) -> str:
    return "\n\n" if match.group(1).lower() in _BLOCK_ELEMENTS else ""


def clean_text(value: str) -> str:
    """Strip HTML tags and entities, normalise Unicode to NFC and newlines to ``\\n``.

    Quotation marks, spacing inside lines and paragraph breaks are kept as written;
    control characters (except tab and newline) are removed; leading and trailing
    whitespace is trimmed.
    """
    s = value.replace("\r\n", "\n").replace("\r", "\n")
    if "<" in s:
        s = _remove_spans(s, _COMMENT_OPEN, _COMMENT_CLOSE)
        for name in _DROPPED:
            s = _remove_spans(s, _DROP_OPEN[name], _DROP_CLOSE[name])
        had_tags = _TAG.search(s) is not None
        s = _TAG.sub(_replace_tag, s)
        if had_tags:
            s = _BLANK_RUNS.sub("\n\n", s)
    if "&" in s and _ENTITY.search(s):
        s = html.unescape(s)
    s = _CONTROL.sub("", s)
    s = unicodedata.normalize("NFC", s)
    return s.strip()


def as_text(value: Any, field: str, warnings: list[str]) -> str | None:
    """A field value as cleaned text, or None. Numbers become strings; other types warn."""
    if value is None:
        return None
    if isinstance(value, bool):
        warnings.append(f"{field}: expected text, got a boolean; ignored")
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        warnings.append(f"{field}: expected text, got {type(value).__name__}; ignored")
        return None
    cleaned = clean_text(value)
    return cleaned or None


def fingerprint_text(text: str) -> str:
    """Case-folded words joined by single spaces: the text form used for identity and dedup."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def build_text(title: str | None, excerpt: str | None, body: str | None) -> str:
    """Join the cleaned parts into the stored ``text`` (see the module docstring)."""
    lead = excerpt
    if excerpt and body:
        ex = fingerprint_text(excerpt)
        if ex and fingerprint_text(body[: len(excerpt) * 2 + 200]).startswith(ex):
            lead = None
    if title and lead and fingerprint_text(lead) == fingerprint_text(title):
        lead = None
    return "\n\n".join(part for part in (title, lead, body) if part)


# --------------------------------------------------------------------------- URLs

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, tracking_params: tuple[str, ...]) -> str | None:
    """Canonical form of an absolute http(s) URL, or None when ``url`` is not one.

    Lower-case scheme and host, default port and fragment removed, query parameters
    matching ``tracking_params`` (glob patterns, case-insensitive) dropped and the rest
    sorted, an empty path written as ``/``.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        return None
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    query = ""
    if parts.query:
        tracking = _tracking_regex(tracking_params)
        kept = sorted(
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not tracking.match(k.lower())
        )
        query = urlencode(kept)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


@functools.lru_cache(maxsize=8)
def _tracking_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns) or r"(?!)")


def domain_of(canonical: str | None) -> str | None:
    """The host of a canonical URL without a leading ``www.``."""
    if not canonical:
        return None
    host = urlsplit(canonical).hostname or ""
    return host[4:] if host.startswith("www.") else (host or None)


# --------------------------------------------------------------------------- dates

_MIN_YEAR, _MAX_YEAR = 1800, 2200
_NO_DEFAULT = dt.datetime(1, 1, 1)


def parse_published(value: Any) -> tuple[dt.datetime | None, str | None]:
    """Parse a publication date into an aware UTC datetime.

    Accepts datetime / date objects (YAML gives these), ISO 8601 strings, the common
    written forms dateutil understands (RFC 2822, "March 4, 2021"), and Unix epoch
    seconds. Naive times are taken as UTC. Returns ``(None, warning)`` when the value
    is present but cannot be read, ``(None, None)`` when it is absent.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    result: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            result = None
    elif isinstance(value, str):
        text = value.strip()
        if len(text) <= 64:
            try:
                result = dt.datetime.fromisoformat(text)
            except ValueError:
                try:
                    # Missing parts come from year 1, which the range check rejects, so a
                    # date never depends on today's date.
                    result = dateutil_parser.parse(text, default=_NO_DEFAULT)
                except (ValueError, OverflowError, TypeError):
                    result = None
    if result is None:
        return None, f"published: cannot parse date {str(value)[:80]!r}; stored as null"
    if result.tzinfo is None:
        result = result.replace(tzinfo=dt.timezone.utc)
    try:
        result = result.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        return None, f"published: date {str(value)[:80]!r} is out of range; stored as null"
    if not (_MIN_YEAR <= result.year <= _MAX_YEAR):
        return None, f"published: implausible year {result.year}; stored as null"
    return result, None
