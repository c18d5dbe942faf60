"""User-written Markdown (announcements, discussion posts) rendered to HTML that is safe to
insert into a page: markdown-it-py with raw HTML disabled, then nh3 (the Rust `ammonia`
sanitizer) with an allow-list of tags and attributes and only http(s)/mailto link targets.

Two layers on purpose: markdown-it escapes raw HTML and refuses `javascript:`-like links
itself, and nh3 removes whatever a future parser option or extension would let through
(script and style elements, `on*` handlers, `style`, `javascript:`/`data:`/`vbscript:` URLs).
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def render_markdown(text: str) -> str:
    """`text` (Markdown) as sanitized HTML."""
    return nh3.clean(
        _parser().render(text),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
