"""The news aggregator's Markdown with YAML front matter.

A record looks like::

    ---
    title: "..."
    excerpt: "..."
    publishedDateTime: 2020-07-02T19:21:00Z
    webUrl: "https://..."
    provider: {name: ..., domain: ...}
    topics: [Computer Vision, AI]
    related:
      - {title: ..., excerpt: ..., publishedDateTime: ..., webUrl: ..., provider: {...}}
    ---
    optional body

The record becomes one article and each ``related`` entry another, linked by
``related_to``. The YAML is read from libyaml's parse events (see :func:`load_yaml`), which
refuse aliases (exponential "billion laughs" expansion) and nesting
deeper than any news record needs (which would exhaust the C stack); no YAML
constructor ever runs, so tags such as ``!!python/object`` are refused, never executed.
"""

from __future__ import annotations

from typing import Any, Iterator

import yaml
from frontmatter.default_handlers import YAMLHandler

from pipeline.ingest.records import Quarantined, RawRecord

KIND = "frontmatter"
RELATED_KIND = "related"

_HANDLER = YAMLHandler()
_MAX_DEPTH = 32
_MAX_EVENTS = 200_000
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def looks_like_front_matter(text: str) -> bool:
    """True when the document opens with a ``---`` line (after optional blank lines)."""
    return _HANDLER.detect(text.lstrip("\n"))


class HostileYAML(ValueError):
    pass


class DisallowedTag(ValueError):
    pass


_STR_TAGS = {None, "!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp",
             "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}
_NULLS = {"", "~", "null", "Null", "NULL"}
_NO_KEY = object()


def _check_tag(tag: str | None, allowed: set[str | None], mark: Any) -> None:
    if tag not in allowed:
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise DisallowedTag(f"YAML tag {tag} is not allowed in a news record{line}; nothing was executed")


def load_yaml(fm: str) -> Any:
    """Build plain Python data from libyaml's parse events, refusing what a news record never needs.

    Scalars stay strings (plain empty / ``null`` / ``~`` become None; dates and numbers
    are read later by the fields that need them), so no YAML constructor runs at all:
    no object can be created from a tag. Aliases (exponential "billion laughs"
    expansion), nesting deeper than ``_MAX_DEPTH`` and more than ``_MAX_EVENTS`` nodes
    raise :class:`HostileYAML`; tags other than the standard scalar / collection ones
    raise :class:`DisallowedTag`; malformed YAML raises ``yaml.YAMLError`` with its position.
    """
    stack: list[list[Any]] = []  # [container, pending mapping key]
    root: Any = None
    done = False

    def add(value: Any) -> None:
        nonlocal root, done
        if not stack:
            root, done = value, True
            return
        frame = stack[-1]
        container = frame[0]
        if isinstance(container, list):
            container.append(value)
        elif frame[1] is _NO_KEY:
            if isinstance(value, (list, dict)):
                raise HostileYAML("YAML mapping key is a collection")
            frame[1] = value
        else:
            container[frame[1]] = value
            frame[1] = _NO_KEY

    for n, event in enumerate(yaml.parse(fm, Loader=_Loader)):
        if n > _MAX_EVENTS:
            raise HostileYAML(f"YAML has more than {_MAX_EVENTS:,} nodes")
        if isinstance(event, yaml.ScalarEvent):
            _check_tag(event.tag, _STR_TAGS, event.start_mark)
            plain = event.implicit[0]  # (True, _) only for plain, unquoted scalars
            add(None if plain and event.value in _NULLS else event.value)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            seq = isinstance(event, yaml.SequenceStartEvent)
            _check_tag(event.tag, {None, "!", "tag:yaml.org,2002:seq" if seq else "tag:yaml.org,2002:map"},
                       event.start_mark)
            if len(stack) >= _MAX_DEPTH:
                raise HostileYAML(f"YAML nested deeper than {_MAX_DEPTH} levels")
            stack.append([[] if seq else {}, _NO_KEY])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            add(stack.pop()[0])
        elif isinstance(event, yaml.AliasEvent):
            raise HostileYAML(
                f"YAML alias *{event.anchor} refused: news records never need aliases, and they "
                "allow exponential expansion"
            )
        elif isinstance(event, yaml.DocumentStartEvent) and done:
            raise HostileYAML("more than one YAML document in the front matter")
    return root


def _yaml_problem(exc: yaml.YAMLError, skipped_lines: int) -> tuple[int | None, str]:
    mark = getattr(exc, "problem_mark", None)
    # The front matter string starts right after the opening "---" (its line 0 is the rest of
    # that line), so its 0-based line n is the file's 1-based line n + 1.
    line = mark.line + 1 + skipped_lines if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{context}: {problem}" if context else str(problem)
    return line, detail[:500]


def _record(meta: dict[str, Any], source_path: str, kind: str, body: Any = None) -> RawRecord:
    url = meta.get("webUrl") or meta.get("originalUrl") or meta.get("url")
    published = meta.get("publishedDateTime", meta.get("date"))
    return RawRecord(
        source_path=source_path,
        kind=kind,
        url=url,
        title=meta.get("title"),
        excerpt=meta.get("excerpt"),
        body=body,
        published=published,
        provider=meta.get("provider"),
        topics=meta.get("topics"),
    )


def read_front_matter(text: str, source_path: str) -> Iterator[RawRecord | Quarantined]:
    """Yield the record and its related entries, or quarantine rows saying what is wrong."""
    stripped = text.lstrip("\n")
    skipped_lines = len(text) - len(stripped)
    text = stripped
    try:
        fm, body = _HANDLER.split(text)
    except ValueError:
        yield Quarantined(source_path, "front_matter_unclosed",
                          "the front matter opens with --- but no closing --- line follows",
                          input_kind=KIND)
        return
    try:
        meta = load_yaml(fm)
    except HostileYAML as exc:
        yield Quarantined(source_path, "yaml_hostile", str(exc), input_kind=KIND)
        return
    except DisallowedTag as exc:
        yield Quarantined(source_path, "yaml_error", str(exc), input_kind=KIND)
        return
    except yaml.YAMLError as exc:
        line, detail = _yaml_problem(exc, skipped_lines)
        # libyaml >= 0.2.5 stops deep nesting itself, before our own depth limit sees it
        reason = "yaml_hostile" if "maximum nesting depth" in detail else "yaml_error"
        yield Quarantined(source_path, reason, detail, line=line, input_kind=KIND)
        return
    if not isinstance(meta, dict):
        yield Quarantined(source_path, "front_matter_not_mapping",
                          f"the front matter is a {type(meta).__name__}, not a mapping of fields",
                          input_kind=KIND)
        return
    parent = _record(meta, source_path, KIND, body=body.strip() or None)
    yield parent
    related = meta.get("related")
    if related is None:
        return
    if not isinstance(related, list):
        parent.warnings.append(f"related: expected a list, got {type(related).__name__}; ignored")
        return
    for i, entry in enumerate(related):
        if not isinstance(entry, dict):
            yield Quarantined(source_path, "not_an_object",
                              f"related entry is a {type(entry).__name__}, not a mapping",
                              item=f"related[{i}]", input_kind=RELATED_KIND)
            continue
        child = _record(entry, source_path, RELATED_KIND)
        child.parent = parent
        child.item = f"related[{i}]"
        yield child
