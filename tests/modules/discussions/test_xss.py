# ruff: noqa: E501 - the cheat sheet payloads are kept verbatim
"""Cases of the OWASP XSS filter-evasion cheat sheet through announcement and post bodies:
the rendered HTML has no script or style element, no event handler attribute and no
javascript:/vbscript:/data: URL, whatever the input."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.modules.announcements.factories import Classroom, create_classroom

CHEAT_SHEET = [
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "javascript:/*--></title></style></textarea></script></xmp><svg/onload='+/\"`/+/onmouseover=1/+/[*/[]/+alert(42);//'>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<a onmouseover="alert(document.cookie)">xxs link</a>',
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041">',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="http://xss.example/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
    "<SCRIPT SRC=http://xss.example/xss.js?< B >",
    "<iframe src=http://xss.example/scriptlet.html <",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
    "<STYLE>@import'http://xss.example/xss.css';</STYLE>",
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    '<OBJECT TYPE="text/x-scriptlet" DATA="http://xss.example/scriptlet.html"></OBJECT>',
    '<EMBED SRC="data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv MjAwMC9zdmciIHhtbG5zOnhsaW5rPSJodHRwOi8vd3d3LnczLm9yZy8xOTk5L3hs aW5rIiB2ZXJzaW9uPSIxLjAiIHg9IjAiIHk9IjAiIHdpZHRoPSIxOTQiIGhlaWdodD0iMjAw IiBpZD0ieHNzIj48c2NyaXB0IHR5cGU9InRleHQvZWNtYXNjcmlwdCI+YWxlcnQoIlh TUyIpOzwvc2NyaXB0Pjwvc3ZnPg==" type="image/svg+xml" AllowScriptAccess="always"></EMBED>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="&#1;javascript:alert(1)">x</a>',
    # Markdown's own link and image syntax.
    "[click](javascript:alert('XSS'))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](  javascript:alert(1)  )",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    '![img](x "onerror=alert(1)")',
    "[ref][1]\n\n[1]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    '[a](https://ok.example "title\\" onmouseover=\\"alert(1)")',
]

DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
FORBIDDEN_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "svg", "meta", "link", "base", "body",
     "input", "bgsound", "div"}
)  # fmt: skip


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"{tag}[{name}]")
            if value is not None:
                compact = "".join(ch for ch in value if ch.isprintable() and not ch.isspace())
                if compact.lower().startswith(DANGEROUS_SCHEMES):
                    self.problems.append(f"{tag}[{name}]={value!r}")


def _problems(html: str) -> list[str]:
    audit = _Audit()
    audit.feed(html)
    audit.close()
    return audit.problems


def test_the_audit_sees_what_it_looks_for() -> None:
    assert _problems('<img src=x onerror="alert(1)"><a href=" JaVa\tscript:x">') == [
        "img[onerror]",
        "a[href]=' JaVa\\tscript:x'",
    ]
    assert _problems("<script>x</script><p style='x'>") == ["<script>", "p[style]"]


@pytest.fixture
def room(make_user: Any) -> Classroom:
    return create_classroom(make_user)


def test_no_payload_survives_rendering(
    client: TestClient, room: Classroom, auth_headers: Any, env: Any
) -> None:
    env(DISCUSSION_POSTS_PER_MINUTE="10000")
    base = f"/api/v1/courses/{room.course.id}"
    for payload in CHEAT_SHEET:
        announcement = client.post(f"{base}/announcements", json={"title": "t", "body": payload},
                                   headers=auth_headers(room.author))  # fmt: skip
        thread = client.post(f"{base}/discussions", json={"title": "t", "body": payload},
                             headers=auth_headers(room.student_a))  # fmt: skip
        assert announcement.status_code == 201 and thread.status_code == 201
        posts = f"{base}/discussions/{thread.json()['id']}/posts"
        reply = client.post(posts, json={"body": payload}, headers=auth_headers(room.student_b))
        assert reply.status_code == 201
        listed = client.get(posts, headers=auth_headers(room.student_a)).json()["items"]
        read = client.get(f"{base}/announcements/{announcement.json()['id']}",
                          headers=auth_headers(room.student_a)).json()  # fmt: skip
        for html in [read["body_html"], *(item["body_html"] for item in listed)]:
            assert _problems(html) == [], (payload, html)
            assert "<script" not in html.lower()
        assert read["body"] == payload  # stored as written
