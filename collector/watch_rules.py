"""Pure decisions of the watch (collector.watch): when a stored statement is checked again,
and what the answer at its address means.

    schedule      the decaying re-check schedule: checks at fixed ages after collection
                  (`settings: watch: after`); checks missed while the service was down are
                  not made up, the next one is the first age still ahead
    page_view     the words of an answered page as a reader sees them: title, first heading,
                  visible text (run in the parse workers: it parses untrusted HTML)
    verdict       same, edited or vanished, with the reason in words

A page is judged as a *kind* of page, never by site: a redirect to a site's root or to the
source's listing, the page the same host serves for an address that cannot exist (the probe),
or a short page whose title or heading says "not found" in one of many languages, while its
text no longer resembles the statement's.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from . import limits

#: Below this share of the stored statement's words, a page no longer carries the statement.
RESEMBLES = 0.5
#: At or above this word overlap, two pages are the same page (a soft 404 and the probe's).
SAME_PAGE = 0.8
#: A "not found" page is short: its visible text has at most this many words.
NOT_FOUND_MAX_WORDS = 250

#: "Not found" in the title or first heading of an error page, in the languages statements
#: are collected in. Matched on lower-cased text.
_NOT_FOUND = re.compile("|".join([
    r"\b404\b", r"not found", r"page not found", r"(?:does not|doesn't|no longer) exists?",
    r"(?:can ?not|can't|could not|couldn't) be found", r"no longer available",
    r"page (?:is )?(?:missing|unavailable)", r"nothing (?:was )?found",
    r"introuvable", r"n'existe (?:pas|plus)", r"non trouv", r"pas été trouvée?",
    r"nicht gefunden", r"existiert nicht", r"nicht mehr verfügbar",
    r"no encontrad", r"no existe", r"no se (?:ha )?encontr",
    r"non trovat", r"non esiste",
    r"não encontrad", r"não existe",
    r"niet gevonden", r"bestaat niet",
    r"nie znaleziono", r"nie istnieje",
    r"bulunamad", r"не найден", r"не существует",
    r"غير موجود", r"لم يتم العثور", r"не знайдено",
    r"找不到", r"不存在", r"見つかりません", r"찾을 수 없",
]), re.IGNORECASE)
#: Paths that are a site's front page: the root, an index file, or a language root (/en/).
_ROOT_PATH = re.compile(r"^/?(?:[a-z]{2}(?:[-_][a-z]{2})?/?)?(?:index\.\w{2,5}|home/?)?$",
                        re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)


# -- the schedule -----------------------------------------------------------------------------

def schedule(collected_at: datetime, after_s: tuple[int, ...],
             now: datetime) -> tuple[int, datetime | None]:
    """(scheduled checks now behind us, time of the next one or None when none is left)."""
    done = sum(1 for a in after_s if collected_at + timedelta(seconds=a) <= now)
    if done >= len(after_s):
        return done, None
    return done, collected_at + timedelta(seconds=after_s[done])


def after_error(collected_at: datetime, after_s: tuple[int, ...], checks: int, errors: int,
                now: datetime) -> tuple[int, datetime | None]:
    """(checks done, next check) after a check that failed `errors` times in a row (network,
    5xx, 429, timeout: nothing is known about the statement). It is retried `WATCH_RETRY_S`
    later, up to `WATCH_MAX_RETRIES` times; then the scheduled check counts as done and the
    schedule goes on."""
    if errors < limits.WATCH_MAX_RETRIES:
        return checks, now + timedelta(seconds=limits.WATCH_RETRY_S)
    return schedule(collected_at, after_s, now)


# -- what a page says -------------------------------------------------------------------------

@dataclass(frozen=True)
class PageView:
    """A page's words as a reader sees them."""

    title: str
    heading: str
    text: str

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.text))


def page_view(html: str) -> PageView:
    """Title, first heading and visible text of `html` (scripts, styles left out)."""
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    title = tree.css_first("title")
    heading = tree.css_first("h1") or tree.css_first("h2")
    body = tree.body or tree.root
    text = body.text(separator=" ") if body is not None else ""
    return PageView(title=_squash(title.text() if title else ""),
                    heading=_squash(heading.text() if heading else ""),
                    text=_squash(text)[:200_000])


def _squash(text: str) -> str:
    return " ".join(text.split())


def _bag(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def resemblance(stored: str, found: str) -> float:
    """Share of the stored text's words (with their counts) that the found text still has."""
    a, b = _bag(stored), _bag(found)
    total = sum(a.values())
    if not total:
        return 1.0 if not b else 0.0
    return sum((a & b).values()) / total


def same_page(a: str, b: str) -> float:
    """Word overlap of two pages, both ways (1.0: the same words)."""
    x, y = _bag(a), _bag(b)
    union = sum((x | y).values())
    return sum((x & y).values()) / union if union else 1.0


def says_not_found(view: PageView) -> bool:
    return bool(_NOT_FOUND.search(view.title) or _NOT_FOUND.search(view.heading))


def _norm(url: str) -> tuple[str, str, str]:
    p = urlsplit(url)
    return (p.hostname or "").lower().removeprefix("www."), p.path.rstrip("/") or "/", p.query


def is_front_page(url: str, listings: tuple[str, ...] = ()) -> bool:
    """Whether `url` is a site's front page, or one of the source's listing pages."""
    host, path, query = _norm(url)
    if _ROOT_PATH.match(path) and not query:
        return True
    return any(_norm(u) == (host, path, query) for u in listings)


# -- the verdict ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """How a host answers an address that cannot exist: status, where it ended, the page."""

    status: int
    final_url: str | None = None
    view: PageView | None = None


@dataclass(frozen=True)
class Verdict:
    kind: str           # "same" | "edited" | "vanished" | "unknown" (checked again later)
    reason: str


def verdict(*, url: str, final_url: str, stored_text: str, found_text: str | None,
            view: PageView | None, probe: Probe | None,
            listings: tuple[str, ...] = ()) -> Verdict:
    """What a 200 answer at a statement's `url` means.

    `found_text` is the statement's text as extracted from the answer now (None: no text could
    be extracted), `stored_text` the stored one; `view` the page as a reader sees it; `probe`
    the host's answer for an address that cannot exist (None: not probed, or no answer).
    """
    redirected = _norm(final_url) != _norm(url)
    if redirected and is_front_page(final_url, listings) and not is_front_page(url, listings):
        return Verdict("vanished", f"redirected to the site's front page {final_url}")
    if redirected and probe is not None and probe.final_url is not None \
            and _norm(probe.final_url) == _norm(final_url):
        return Verdict("vanished", f"redirected to {final_url}, where the site also sends an "
                                   "address that does not exist")
    if found_text is not None and found_text == stored_text:
        return Verdict("same", "unchanged")
    likeness = resemblance(stored_text, found_text or "")
    if found_text is not None and likeness >= RESEMBLES:
        return Verdict("edited", f"the text changed ({likeness:.0%} of its words remain)")
    if view is not None:
        if probe is not None and probe.status == 200 and probe.view is not None \
                and same_page(view.text, probe.view.text) >= SAME_PAGE:
            return Verdict("vanished", "the page is the one the site serves for an address "
                                       "that does not exist (a 'not found' page sent with 200)")
        if says_not_found(view) and view.words <= NOT_FOUND_MAX_WORDS:
            shown = view.heading if _NOT_FOUND.search(view.heading) else view.title
            return Verdict("vanished", f"a 'not found' page sent with 200 ({shown[:120]!r})")
    if found_text is None:
        return Verdict("unknown", "no text could be extracted from the page")
    return Verdict("edited", f"the text was replaced ({likeness:.0%} of its words remain)")
