"""Dates as people write them, in many languages: "7 octobre 2023", "7. Oktober 2023",
"October 7th, 2023", "2023年10月7日", "7 أكتوبر 2023", "7 октября 2023 г.", "2023-10-07",
"7.10.2023", "10/7/2023"; and relative ones ("3 days ago", "vor 3 Tagen", "il y a 3 jours").

Month names are language data, not page rules: the Gregorian month names of the languages
pages are written in most (their genitive forms where a date uses them), with the
abbreviations that are unambiguous across all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_MONTH_NAMES: tuple[tuple[str, ...], ...] = (
    # en, fr, de, es, it, pt, nl, sv, da/no, fi, pl, cs, hu, ro, tr, ru, uk, el, ar, he
    ("january", "janvier", "januar", "jänner", "enero", "gennaio", "janeiro", "januari",
     "tammikuuta", "tammikuu", "stycznia", "styczeń", "ledna", "leden", "január", "ianuarie",
     "ocak", "января", "январь", "січня", "січень", "ιανουαρίου", "ιανουάριος", "يناير",
     "كانون الثاني", "ינואר"),
    ("february", "février", "februar", "febrero", "febbraio", "fevereiro", "februari",
     "helmikuuta", "helmikuu", "lutego", "luty", "února", "únor", "február", "februarie",
     "şubat", "subat", "февраля", "февраль", "лютого", "лютий", "φεβρουαρίου", "φεβρουάριος",
     "فبراير", "شباط", "פברואר"),
    ("march", "mars", "märz", "marzo", "março", "maart", "marts", "maaliskuuta", "maaliskuu",
     "marca", "marzec", "března", "březen", "március", "martie", "mart", "марта", "март",
     "березня", "березень", "μαρτίου", "μάρτιος", "مارس", "آذار", "מרץ", "מרס"),
    ("april", "avril", "abril", "aprile", "huhtikuuta", "huhtikuu", "kwietnia", "kwiecień",
     "dubna", "duben", "április", "aprilie", "nisan", "апреля", "апрель", "квітня", "квітень",
     "απριλίου", "απρίλιος", "أبريل", "ابريل", "إبريل", "نيسان", "אפריל"),
    ("may", "mai", "mayo", "maggio", "maio", "mei", "maj", "toukokuuta", "toukokuu", "maja",
     "května", "květen", "május", "mayıs", "mayis", "мая", "май", "травня", "травень",
     "μαΐου", "μαΐου", "μάιος", "مايو", "أيار", "מאי"),
    ("june", "juin", "juni", "junio", "giugno", "junho", "kesäkuuta", "kesäkuu", "czerwca",
     "czerwiec", "června", "červen", "június", "iunie", "haziran", "июня", "июнь", "червня",
     "червень", "ιουνίου", "ιούνιος", "يونيو", "يونيه", "حزيران", "יוני"),
    ("july", "juillet", "juli", "julio", "luglio", "julho", "heinäkuuta", "heinäkuu", "lipca",
     "lipiec", "července", "červenec", "július", "iulie", "temmuz", "июля", "июль", "липня",
     "липень", "ιουλίου", "ιούλιος", "يوليو", "يوليه", "تموز", "יולי"),
    ("august", "août", "agosto", "augustus", "augusti", "elokuuta", "elokuu", "sierpnia",
     "sierpień", "srpna", "srpen", "augusztus", "ağustos", "agustos", "августа", "август",
     "серпня", "серпень", "αυγούστου", "αύγουστος", "أغسطس", "اغسطس", "آب", "אוגוסט"),
    ("september", "septembre", "septiembre", "setiembre", "settembre", "setembro",
     "syyskuuta", "syyskuu", "września", "wrzesień", "září", "szeptember", "septembrie",
     "eylül", "eylul", "сентября", "сентябрь", "вересня", "вересень", "σεπτεμβρίου",
     "σεπτέμβριος", "سبتمبر", "أيلول", "ספטמבר"),
    ("october", "octobre", "oktober", "octubre", "ottobre", "outubro", "lokakuuta",
     "lokakuu", "października", "październik", "října", "říjen", "október", "octombrie",
     "ekim", "октября", "октябрь", "жовтня", "жовтень", "οκτωβρίου", "οκτώβριος", "أكتوبر",
     "اكتوبر", "تشرين الأول", "אוקטובר"),
    ("november", "novembre", "noviembre", "novembro", "marraskuuta", "marraskuu", "listopada",
     "listopad", "listopadu", "noiembrie", "kasım", "kasim", "ноября", "ноябрь", "листопада",
     "листопад", "νοεμβρίου", "νοέμβριος", "نوفمبر", "تشرين الثاني", "נובמבר"),
    ("december", "décembre", "dezember", "diciembre", "dicembre", "dezembro", "joulukuuta",
     "joulukuu", "grudnia", "grudzień", "prosince", "prosinec", "decembrie", "aralık",
     "aralik", "декабря", "декабрь", "грудня", "грудень", "δεκεμβρίου", "δεκέμβριος",
     "ديسمبر", "كانون الأول", "דצמבר"),
)


def _month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    prefixes: dict[str, set[int]] = {}
    for month, names in enumerate(_MONTH_NAMES, 1):
        for name in names:
            table[name] = month
            if " " in name:
                continue
            # abbreviations ("okt.", "févr.", "sept", "окт"): a prefix of at least three
            # letters names a month when it names only that one in every language here
            for size in range(3, len(name)):
                prefixes.setdefault(name[:size], set()).add(month)
            # Hebrew writes "on" into the month: "ב" + name ("7 באוקטובר 2023")
            if "\u05d0" <= name[0] <= "\u05ea":
                table["\u05d1" + name] = month
    for prefix, months in prefixes.items():
        if len(months) == 1 and prefix not in table:
            table[prefix] = months.pop()
    return table


MONTHS = _month_table()
#: Two-word month names (Levantine Arabic), written as one token before matching.
_TWO_WORD = {name: name.replace(" ", "_") for name in MONTHS if " " in name}
_TWO_WORD_RE = re.compile("|".join(map(re.escape, _TWO_WORD))) if _TWO_WORD else None
_MONTH_WORD = r"[^\W\d]+"
_YEAR = r"\d{4}"
_TEXT_DATE = re.compile(
    # day month year: "7 octobre 2023", "7. Oktober 2023", "7 de octubre de 2023", "7th of May"
    rf"(?<![\w.])(?P<d1>\d{{1,2}})(?:st|nd|rd|th|er|e|º|\.)?\s*(?:de\s+|of\s+)?"
    rf"(?P<m1>{_MONTH_WORD})\.?,?\s*(?:de\s+|del\s+)?(?P<y1>{_YEAR})(?!\d)"
    # month day, year: "October 7, 2023", "Oct. 7th 2023"
    rf"|(?<![\w])(?P<m2>{_MONTH_WORD})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    rf"(?P<y2>{_YEAR})(?!\d)"
    # year month day: "2023. október 7.", "2023 October 7"
    rf"|(?<![\w.])(?P<y6>{_YEAR})\.?\s+(?P<m6>{_MONTH_WORD})\.?\s+(?P<d6>\d{{1,2}})(?!\d)"
    # CJK: "2023年10月7日", "2023년 10월 7일"
    r"|(?P<y7>\d{4})\s*[年년]\s*(?P<m7>\d{1,2})\s*[月월]\s*(?P<d7>\d{1,2})"
    # numeric: ISO-like, day-first with dots, slashes
    r"|(?<![\w.])(?P<y3>\d{4})(?P<s3>[-./])(?P<m3>\d\d?)(?P=s3)(?P<d3>\d\d?)(?![\d])"
    r"|(?<![\w.])(?P<d4>\d\d?)\.\s?(?P<m4>\d\d?)\.\s?(?P<y4>\d{4})(?!\d)"
    r"|(?<![\w/])(?P<a5>\d\d?)/(?P<b5>\d\d?)/(?P<y5>\d{4})(?!\d)",
    re.IGNORECASE,
)
#: Every form of `_TEXT_DATE` holds a year of four digits.
_FOUR_DIGITS = re.compile(r"\d{4}")
#: Digits other than ASCII that dates are written in (Arabic-Indic, Persian).
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _month(word: str) -> int | None:
    word = word.casefold().replace("_", " ")
    month = MONTHS.get(word)
    if month is None and len(word) > 3 and word[0] in "لبو":
        month = MONTHS.get(word[1:])  # Arabic "في"/"ب" glued to the month is rare but seen
    return month


def prepare(text: str) -> str:
    """The text with foreign digits made ASCII and two-word months joined."""
    if text.isascii():
        return text
    text = text.translate(_DIGITS)
    if _TWO_WORD_RE is not None and max(text) >= "\u0600" and _TWO_WORD_RE.search(text):
        text = _TWO_WORD_RE.sub(lambda m: _TWO_WORD[m.group(0)], text)
    return text


def text_dates(text: str) -> Iterator[tuple[int, datetime]]:
    """Every date written out in the text, in order: (position, midnight UTC of that day)."""
    text = prepare(text)
    if _FOUR_DIGITS.search(text) is None:
        return  # no year: the full pattern would try every word for a month name, in vain
    for m in _TEXT_DATE.finditer(text):
        g = m.groupdict()
        month: int | None
        if g["y1"]:
            year, month, day = int(g["y1"]), _month(g["m1"]), int(g["d1"])
        elif g["y2"]:
            year, month, day = int(g["y2"]), _month(g["m2"]), int(g["d2"])
        elif g["y6"]:
            year, month, day = int(g["y6"]), _month(g["m6"]), int(g["d6"])
        elif g["y7"]:
            year, month, day = int(g["y7"]), int(g["m7"]), int(g["d7"])
        elif g["y3"]:
            year, month, day = int(g["y3"]), int(g["m3"]), int(g["d3"])
        elif g["y4"]:  # dots: day first, as written wherever dots are used
            year, month, day = int(g["y4"]), int(g["m4"]), int(g["d4"])
        else:  # slashes: month first (the US habit) unless that cannot be a month
            year, month, day = int(g["y5"]), int(g["a5"]), int(g["b5"])
            if month > 12:
                month, day = day, month
        if month is None or not 1900 <= year <= 2100:
            continue
        try:
            yield m.start(), datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            continue


def only_date(text: str) -> bool:
    """Whether the text is a date and nothing else ("May 20, 2024", "7. Oktober 2023"; not
    "Published: 5.5.2020")."""
    text = prepare(text.strip())
    m = _TEXT_DATE.match(text)
    return (m is not None and not text[m.end():].strip(" .,;:")
            and text_date(text) is not None)


def text_date(text: str) -> datetime | None:
    """The first date written out in the text, if any."""
    for _at, dt in text_dates(text):
        return dt
    return None


#: Relative dates: "3 days ago", "vor 3 Tagen", "il y a 3 jours", "hace 3 días", "3 дня
#: назад", "3日前"; and "yesterday" in a few languages. Minutes and seconds are not dates:
#: they are the moment the page was rendered.
_UNITS = {
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "stunde": 3600, "stunden": 3600,
    "heure": 3600, "heures": 3600, "hora": 3600, "horas": 3600, "ora": 3600, "ore": 3600,
    "час": 3600, "часа": 3600, "часов": 3600, "godz": 3600, "godziny": 3600, "godzin": 3600,
    "uur": 3600, "timme": 3600, "timmar": 3600, "tuntia": 3600, "時間": 3600, "小时": 3600,
    "day": 86400, "days": 86400, "tag": 86400, "tagen": 86400, "jour": 86400,
    "jours": 86400, "día": 86400, "días": 86400, "dia": 86400, "dias": 86400,
    "giorno": 86400, "giorni": 86400, "день": 86400, "дня": 86400, "дней": 86400,
    "dzień": 86400, "dni": 86400, "dag": 86400, "dagen": 86400, "dagar": 86400,
    "päivää": 86400, "日": 86400, "天": 86400, "week": 604800, "weeks": 604800,
    "woche": 604800, "wochen": 604800, "semaine": 604800, "semaines": 604800,
    "semana": 604800, "semanas": 604800, "settimana": 604800, "settimane": 604800,
    "неделю": 604800, "недели": 604800, "недель": 604800, "週間": 604800, "周": 604800,
}
_UNIT_WORD = r"[^\W\d_]+|時間|小时|日|天|週間|周"
_RELATIVE = re.compile(
    rf"(?:\b(?:vor|il y a|hace|há|fa)\s+(?P<n1>\d{{1,3}})\s+(?P<u1>{_UNIT_WORD})"
    rf"|(?P<n2>\d{{1,3}})\s*(?P<u2>{_UNIT_WORD})\s*(?:ago|назад|temu|geleden|sedan|sitten|"
    r"fa|前))",
    re.IGNORECASE,
)
_YESTERDAY = re.compile(r"\b(?:yesterday|gestern|hier|ayer|ieri|ontem|вчера|wczoraj|gisteren|"
                        r"igår|eilen)\b|昨日|昨天", re.IGNORECASE)


def relative_date(text: str, now: datetime) -> datetime | None:
    """A date written relative to `now` ("3 days ago", "vor 2 Tagen", "yesterday")."""
    m = _RELATIVE.search(text)
    if m is not None:
        n = int(m.group("n1") or m.group("n2"))
        seconds = _UNITS.get((m.group("u1") or m.group("u2")).casefold())
        if seconds and n:
            return now - timedelta(seconds=n * seconds)
    if _YESTERDAY.search(text):
        return now - timedelta(days=1)
    return None
