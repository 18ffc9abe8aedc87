"""The publication date of a page: declared (JSON-LD, meta tags, `<time>`), printed with the
headline, in the URL, or written in the text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from selectolax.lexbor import LexborHTMLParser

from .extract_meta import ARTICLE_TYPES, types_of
from .textdates import relative_date, text_date, text_dates

_DATE_META_STRONG = ("article:published_time", "og:article:published_time",
                     "article.published", "published_time", "datepublished")
_DATE_META_WEAK = ("pubdate", "publishdate", "publish-date", "publish_date", "date",
                   "dc.date.issued", "dc.date", "dcterms.date", "dcterms.created", "sailthru.date",
                   "parsely-pub-date", "article.created", "og:published_time", "created",
                   "citation_publication_date", "citation_date", "originalpublicationdate")
#: A weak date this close before `now` is more likely the moment the page was rendered.
_FETCH_TIME_SLACK = timedelta(minutes=10)
#: Dates before this are not publication dates of a web page.
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)

#: A date printed with the headline (a byline or dateline): looked for in the short blocks
#: just after the first h1, then just before it.
_HEADLINE_DATE_AFTER = 6
_HEADLINE_DATE_BEFORE = 2
_HEADLINE_DATE_MAX_CHARS = 100
#: Blocks of at most this many characters ("|", "By", "6", "min") are not counted among
#: those, up to this many of them (further ones count as lines again).
_HEADLINE_DATE_SMALL = 4
_HEADLINE_DATE_SMALL_MAX = 8
_REVISED = re.compile(r"(?:updated|modified|revised|edited|aktualisiert|geändert|mis à jour|"
                      r"modifié|actualizado|atualizado|aggiornato|bijgewerkt|uppdaterad|"
                      r"päivitetty|zaktualizowano|aktualizováno|обновлено|оновлено|更新)",
                      re.IGNORECASE)
#: Time zones run from UTC-12 to UTC+14: a local day spans these instants around its UTC day.
_DAY_SLACK_BEFORE = timedelta(hours=14)
_DAY_SLACK_AFTER = timedelta(hours=36)
#: Elements whose class names them a date, a byline or a time ("meta" and "posted" match far
#: more than dates, and a posted-on line holds an element called date or time anyway).
_DATE_CLASSES = '[class*="date"], [class*="byline"], [class*="time"]'
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|[^\d])")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d\d-\d\d")


def _parse_date(value: str | None) -> datetime | None:
    if not value or len(value) > 80:
        return None
    value = value.strip()
    try:
        if _ISO_DATE.match(value):
            iso = value.replace(" ", "T", 1) if " " in value[:11] else value
            try:
                dt = datetime.fromisoformat(iso)  # in C; dateutil below for the rarer forms
            except ValueError:
                from dateutil import parser as date_parser

                dt = date_parser.isoparse(iso)
        else:
            # dateutil is imported only where it is used: most pages give ISO dates, and a
            # parse worker that never meets another form never loads it (about 13 ms, 2 MB)
            from dateutil import parser as date_parser

            dt = date_parser.parse(value, fuzzy=False)
    except (ValueError, OverflowError):
        from dateutil import parser as date_parser

        try:
            dt = date_parser.parse(value[:10])
        except (ValueError, OverflowError):
            # written out in some language ("7 octobre 2023", "2023年10月7日")
            return text_date(value)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        dt.astimezone(UTC)  # (an offset that puts the instant out of range is refused)
    except (ValueError, OverflowError):
        return None
    # the offset the page gives is kept: the same instant, and its calendar day the one the
    # publisher gives (20:00 on 12 April in California is 13 April in UTC); the store keeps
    # instants in UTC
    return dt


def _acceptable(dt: datetime | None, now: datetime, strong: bool) -> bool:
    if dt is None or dt < _EARLIEST or dt > now:
        return False
    return strong or dt < now - _FETCH_TIME_SLACK


def _declared_date(tree: LexborHTMLParser, ld: list[dict], metas: dict[str, str],
                   now: datetime) -> datetime | None:
    """The date the page declares: JSON-LD, then meta tags, then `<time>` elements."""
    for obj in ld:
        if types_of(obj) & ARTICLE_TYPES or "datePublished" in obj:
            dt = _parse_date(obj.get("datePublished") if isinstance(obj.get("datePublished"),
                                                                     str) else None)
            if _acceptable(dt, now, True):
                return dt
    for key in _DATE_META_STRONG:
        dt = _parse_date(metas.get(key))
        if _acceptable(dt, now, True):
            return dt
    for key in _DATE_META_WEAK:
        dt = _parse_date(metas.get(key))
        if _acceptable(dt, now, False):
            return dt
    for node in tree.css("time[datetime], [itemprop=datePublished]")[:5]:
        attrs = node.attributes
        dt = _parse_date(attrs.get("datetime") or attrs.get("content") or node.text())
        if _acceptable(dt, now, False):
            return dt
    return None


def _same_day(instant: datetime, day: datetime) -> bool:
    """Whether an instant can fall on a calendar day (midnight UTC) in some time zone."""
    return day - _DAY_SLACK_BEFORE <= instant < day + _DAY_SLACK_AFTER


def find_date(tree: LexborHTMLParser, ld: list[dict], metas: dict[str, str], url: str | None,
               head_text: str, now: datetime, shown: datetime | None = None) -> datetime | None:
    """The publication date; `shown` is the date printed with the headline, if any.

    A declared date (JSON-LD, meta tags, `<time>`) is kept when it falls on the day shown
    (it has the time of day, and the shown date is a local calendar day); when the two
    disagree, the shown date wins: metadata is often the first import of a post or a
    template's date, while the headline's date is what the site tells its readers.
    """
    dt = _declared_date(tree, ld, metas, now)
    if dt is not None:
        return dt if shown is None or _same_day(dt, shown) else shown
    if shown is not None:
        return shown
    if url:
        m = _URL_DATE.search(url)
        if m:
            try:
                dt = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=UTC)
            except ValueError:
                dt = None
            if _acceptable(dt, now, False):
                return dt
    # visible text: elements whose class names them a date or byline, then the body's start
    texts = [n.text() for n in tree.css(_DATE_CLASSES)[:8]]
    texts.append(head_text)
    for text in texts:
        for _at, dt in text_dates(text[:500]):
            if _acceptable(dt, now, False):
                return dt
    # a date written relative to the moment of fetching ("3 days ago"), last
    for text in texts:
        dt = relative_date(text[:200], now)
        if dt is not None and _acceptable(dt, now, False):
            return dt
    return None


def headline_date(blocks: list[str], span: tuple[int, int] | None,
                   now: datetime) -> datetime | None:
    """The date the page prints with its headline, if any.

    What readers are shown beside the headline is the article's date as the site presents
    it; metadata is often older (the first import of a post, a template's date) and is the
    fallback.
    """
    if span is None:
        return None
    first, last = span
    # (a byline set as many small blocks, "By | Name | 6 | min | May 2, 2024": separators and
    # counts of a few characters do not use up the lines looked at)
    after: list[int] = []
    counted = small = 0
    for i in range(last, len(blocks)):
        if len(blocks[i]) > _HEADLINE_DATE_SMALL:
            counted += 1
        elif small < _HEADLINE_DATE_SMALL_MAX:
            small += 1
        else:
            counted += 1  # (small blocks past the allowance count as lines again)
        after.append(i)
        if counted >= _HEADLINE_DATE_AFTER:
            break
    before = range(first - 1, max(-1, first - 1 - _HEADLINE_DATE_BEFORE), -1)
    for i in (*after, *before):
        text = blocks[i]
        # every form of date has a year 19xx or 20xx (in ASCII digits unless the line has
        # others): most lines go without the pattern
        if len(text) <= _HEADLINE_DATE_MAX_CHARS and ("20" in text or "19" in text
                                                      or not text.isascii()):
            for at, dt in text_dates(text):
                if _REVISED.search(text, 0, at):
                    break  # "Updated 5 May": when the page last changed, not its publication
                if _acceptable(dt, now, False):
                    return dt
                break
    return None
