"""Make the test documents (PDF, DOCX, ODT) from text written here, with real tools.

    .venv/bin/python -m tests.docgen [SEEDS_DIR]    # (re)writes tests/fixtures/documents/

Needs the `fixtures` extra (`pip install -e '.[fixtures]'`: WeasyPrint for PDF layout, pypdf
for encryption and bombs, odfpy for ODT, Pillow for the scan). The small documents are
committed beside this script, so the test suite needs none of these tools; the bombs, which
are large by nature, are made at test time by `page_bomb` and `inflate_bomb` (pypdf only).

Every fixture has its expected canonical text beside it (`NAME.txt`), written from the same
source text, so tests and `bench/documents.py` compare what a parser recovers with what was
put in. Layouts are those of real statements: two columns, running letterhead and page
numbers, automatic hyphenation, justified text, a heading spanning the columns.
"""

from __future__ import annotations

import html
import io
import shutil
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "documents"

# --- the source texts ---------------------------------------------------------------------

#: (kind, text): kind is "title", "date", "h" (sub-heading), "p", "li" or "sig".
STATEMENT: list[tuple[str, str]] = [
    ("title", "Dockworkers will not accept the closure of the Port Ellis shipyard"),
    ("date", "Port Ellis, 14 March 2025"),
    ("p", "The Federation of Maritime and Transport Workers condemns without reservation the "
          "announcement, made yesterday afternoon by the board of Ellis Maritime Holdings, that "
          "the Port Ellis shipyard will close at the end of the financial year. Two thousand "
          "three hundred workers learned of the decision from a press release, not from their "
          "employer, and not a single representative of the workforce was consulted."),
    ("p", "The shipyard has been profitable in every one of the last seven years. Its order "
          "book is full until the spring of 2027. The decision has nothing to do with the "
          "competitiveness of the yard and everything to do with the restructuring demanded "
          "by the investment fund that acquired a controlling interest eighteen months ago."),
    ("h", "What the closure means"),
    ("p", "Behind every one of the announced redundancies stands a household. In a town of "
          "forty thousand inhabitants, the yard and its subcontractors account for almost a "
          "third of all private-sector employment. Shopkeepers, teachers, nurses and bus "
          "drivers know that a town without its shipyard is a town with an uncertain future."),
    ("p", "The regional government has promised a “transition plan”. We have heard such "
          "promises before. When the steelworks at Hallam Bridge closed, the transition plan "
          "consisted of a retraining programme that placed fewer than one in ten participants "
          "in comparable employment. Nobody should mistake an advertising campaign for an "
          "industrial strategy."),
    ("h", "Our demands"),
    ("li", "The immediate withdrawal of the closure announcement and the opening of genuine "
           "negotiations with the elected representatives of the workforce."),
    ("li", "Full disclosure of the accounts of Ellis Maritime Holdings and of the conditions "
           "attached to the public subsidies it has received since 2019."),
    ("li", "A guarantee that no public contract will be awarded to any company that "
           "participates in the dismantling of the yard."),
    ("li", "The public ownership of the shipyard should the present owners persist."),
    ("p", "The Federation calls on all its members, on the workers of the subcontracting "
          "companies and on the people of Port Ellis to join the demonstration on Saturday, "
          "22 March, at eleven o’clock in front of the town hall. Solidarity between the "
          "generations and between the trades is our strongest weapon; it has won every "
          "battle this town has ever won."),
    ("p", "We will not let a balance sheet decide the future of an entire community. The "
          "shipyard was built by the workers of this town, and it is the workers of this "
          "town who will defend it."),
    ("sig", "Executive Council of the Federation of Maritime and Transport Workers"),
]

#: Running header and footer text (letterhead) repeated on every page of the PDF.
LETTERHEAD = "Federation of Maritime and Transport Workers"
RUNNING_RIGHT = "Press statement"

#: Tracked changes in the DOCX: (paragraph index in STATEMENT, inserted text, deleted text).
#: The accepted text is the one in STATEMENT; the deleted words must not appear.
DELETED_WORDS = "regrettable but understandable"


def expected_text(statement: list[tuple[str, str]] = STATEMENT) -> str:
    """The canonical document a perfect parser recovers from the fixtures."""
    title = next(t for k, t in statement if k == "title")
    blocks = [t for k, t in statement if k != "title"]
    return "\n\n".join([title, *blocks]) + "\n"


def seed_statement(path: Path) -> list[tuple[str, str]]:
    """A seed document as (kind, text): the first line is the title, the last block (a short
    line after the paragraphs) the signature, every other block a paragraph."""
    raw = path.read_text("utf-8")
    blocks = [b.strip() for b in raw.replace("\r\n", "\n").split("\n\n") if b.strip()]
    blocks = [" ".join(b.split("\n")) for b in blocks]
    out = [("title", blocks[0])]
    for i, b in enumerate(blocks[1:], 1):
        out.append(("sig" if i == len(blocks) - 1 and len(b.split()) < 15 else "p", b))
    return out


# --- PDF (WeasyPrint) -----------------------------------------------------------------------

_CSS = """
@page {
  size: A5; margin: 2cm 1.5cm 1.8cm 1.5cm;
  @top-left { content: "%(letterhead)s"; font: 8pt "DejaVu Sans"; color: #444; }
  @top-right { content: "%(right)s"; font: 8pt "DejaVu Sans"; color: #444; }
  @bottom-center { content: "Page " counter(page) " of " counter(pages);
                   font: 8pt "DejaVu Sans"; }
}
html { font: 10pt/1.35 "DejaVu Serif"; }
body { columns: %(columns)d; column-gap: 0.8cm; hyphens: auto; text-align: justify; }
h1 { column-span: all; font: bold 19pt/1.2 "DejaVu Sans"; text-align: left; hyphens: manual;
     margin: 0 0 0.5cm 0; }
h2 { font: bold 11.5pt "DejaVu Sans"; margin: 0.45cm 0 0.15cm 0; text-align: left;
     hyphens: manual; break-after: avoid; }
p { margin: 0 0 0.3cm 0; orphans: 2; widows: 2; }
p.date { font-style: italic; text-align: left; }
p.sig { text-align: right; font-style: italic; margin-top: 0.5cm; hyphens: manual; }
ul { margin: 0 0 0.3cm 0; padding-left: 0.6cm; }
li { margin: 0 0 0.15cm 0; }
"""


def statement_html(statement: list[tuple[str, str]], *, columns: int = 2,
                   meta_title: str | None = None) -> str:
    parts = []
    in_list = False
    for kind, text in statement:
        t = html.escape(text)
        if kind != "li" and in_list:
            parts.append("</ul>")
            in_list = False
        if kind == "title":
            parts.append(f"<h1>{t}</h1>")
        elif kind == "h":
            parts.append(f"<h2>{t}</h2>")
        elif kind == "li":
            if not in_list:
                parts.append("<ul>")
                in_list = True
            parts.append(f"<li>{t}</li>")
        elif kind == "date":
            parts.append(f'<p class="date">{t}</p>')
        elif kind == "sig":
            parts.append(f'<p class="sig">{t}</p>')
        else:
            parts.append(f"<p>{t}</p>")
    if in_list:
        parts.append("</ul>")
    css = _CSS % {"letterhead": LETTERHEAD, "right": RUNNING_RIGHT, "columns": columns}
    head = f"<title>{html.escape(meta_title)}</title>" if meta_title else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">{head}'
            f"<style>{css}</style></head><body>{''.join(parts)}</body></html>")


def make_pdf(statement: list[tuple[str, str]], *, columns: int = 2,
             meta_title: str | None = None) -> bytes:
    import weasyprint

    doc = weasyprint.HTML(string=statement_html(statement, columns=columns,
                                                meta_title=meta_title))
    return doc.write_pdf()  # type: ignore[no-any-return]


def chromium_pdf(html_text: str, workdir: Path) -> bytes:
    """The same layout printed by Chromium (headless) instead: another producer, which draws
    list bullets as shapes and ignores the running header boxes."""
    import subprocess

    exe = next((p for p in ("chromium", "chromium-browser") if shutil.which(p)), None)
    if exe is None:
        raise FileNotFoundError("chromium is not installed")
    source, target = workdir / "statement.html", workdir / "statement.pdf"
    source.write_text(html_text, "utf-8")
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={workdir / 'profile'}", f"--print-to-pdf={target}",
                    source.as_uri()], capture_output=True, timeout=120, check=True)
    return target.read_bytes()


def encrypt_pdf(data: bytes, password: str) -> bytes:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    writer = pypdf.PdfWriter(clone_from=reader)
    writer.encrypt(user_password=password, owner_password=password + "-owner",
                   algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf(lines: list[str]) -> bytes:
    """A page that is only a picture of text (no text layer), as a scanner makes it."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 26)
    y = 160
    for line in lines:
        draw.text((140, y), line, font=font, fill=0)
        y += 44
    out = io.BytesIO()
    img.save(out, "PDF", resolution=150.0)
    return out.getvalue()


# --- bombs, made at test time (pypdf) -------------------------------------------------------

def page_bomb(pages: int = 20_000, *, compressed: bool = False) -> bytes:
    """A small file with a huge page count: every page is blank and shares nothing costly
    (`compressed`: each page has a deflated content stream of its own)."""
    import pypdf
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = pypdf.PdfWriter()
    for n in range(pages):
        page = writer.add_blank_page(width=72, height=72)
        if compressed:
            stream = DecodedStreamObject()
            stream._data = zlib.compress(f"% page {n}\n".encode())
            stream[NameObject("/Filter")] = NameObject("/FlateDecode")
            page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def inflate_bomb(inflated_mib: int = 1024) -> bytes:
    """One page whose content stream inflates from about 1 MiB to `inflated_mib` MiB."""
    import pypdf
    from pypdf.generic import DecodedStreamObject, NameObject

    comp = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    packed = b"".join(comp.compress(chunk) for _ in range(inflated_mib)) + comp.flush()
    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream._data = packed  # already deflated: pypdf writes the bytes as they are
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- DOCX (python-docx) with tracked changes ------------------------------------------------

def make_docx(statement: list[tuple[str, str]], *, tracked: bool = True,
              meta_title: str | None = None) -> bytes:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document()
    d.core_properties.title = meta_title or ""
    d.core_properties.author = "Press office"
    d.core_properties.created = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    section = d.sections[0]
    section.header.paragraphs[0].text = LETTERHEAD  # running header, not body text
    section.footer.paragraphs[0].text = RUNNING_RIGHT
    change_id = 1

    def tracked_run(kind: str, text: str) -> object:
        nonlocal change_id
        wrapper = OxmlElement(f"w:{kind}")
        wrapper.set(qn("w:id"), str(change_id))
        wrapper.set(qn("w:author"), "Editor")
        wrapper.set(qn("w:date"), "2025-03-13T16:00:00Z")
        change_id += 1
        run = OxmlElement("w:r")
        t = OxmlElement("w:delText" if kind == "del" else "w:t")
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        t.text = text
        run.append(t)
        wrapper.append(run)
        return wrapper

    paragraphs_done = 0
    for kind, text in statement:
        if kind == "title":
            d.add_heading(text, level=0)
        elif kind == "h":
            d.add_heading(text, level=1)
        elif kind == "li":
            d.add_paragraph(text, style="List Bullet")
        else:
            para = d.add_paragraph()
            words = text.split(" ")
            if tracked and kind == "p" and paragraphs_done in (0, 2) and len(words) > 12:
                # the middle of the paragraph arrives as a tracked insertion, and words that
                # were deleted (tracked) stand before it
                head, mid, tail = (" ".join(words[:5]) + " ", " ".join(words[5:10]) + " ",
                                   " ".join(words[10:]))
                para.add_run(head)
                para._p.append(tracked_run("del", DELETED_WORDS + " "))
                para._p.append(tracked_run("ins", mid))
                para.add_run(tail)
            else:
                para.add_run(text)
            if kind == "p":
                paragraphs_done += 1
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


# --- ODT (odfpy) ----------------------------------------------------------------------------

def make_odt(statement: list[tuple[str, str]], *, meta_title: str | None = None) -> bytes:
    from odf import dc, teletype
    from odf.opendocument import OpenDocumentText
    from odf.text import H, List, ListItem, P

    d = OpenDocumentText()
    if meta_title:
        d.meta.addElement(dc.Title(text=meta_title))
    current_list = None
    for kind, text in statement:
        if kind != "li":
            current_list = None
        if kind == "title":
            el = H(outlinelevel=1)
        elif kind == "h":
            el = H(outlinelevel=2)
        elif kind == "li":
            if current_list is None:
                current_list = List()
                d.text.addElement(current_list)
            item = ListItem()
            el = P()
            teletype.addTextToElement(el, text)
            item.addElement(el)
            current_list.addElement(item)
            continue
        else:
            el = P()
        teletype.addTextToElement(el, text)
        d.text.addElement(el)
    out = io.BytesIO()
    d.write(out)
    return out.getvalue()


# --- writing the committed fixtures ---------------------------------------------------------

def main(argv: list[str]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    title = STATEMENT[0][1]

    def write(name: str, data: bytes, expected: str | None) -> None:
        (FIXTURES / name).write_bytes(data)
        if expected is not None:
            (FIXTURES / (name.rsplit(".", 1)[0] + ".txt")).write_text(expected, "utf-8")
        print(f"{name}: {len(data):,} bytes")

    exp = expected_text()
    two_col = make_pdf(STATEMENT, meta_title=title)
    write("statement-2col.pdf", two_col, exp)
    # meta title of a word processor's default kind: the heading must win
    write("statement-1col.pdf", make_pdf(STATEMENT, columns=1,
                                         meta_title="Microsoft Word - Doc1.docx"), exp)
    write("statement-tracked.docx", make_docx(STATEMENT, meta_title=title), exp)
    write("statement.odt", make_odt(STATEMENT, meta_title=title), exp)
    write("statement-password.pdf", encrypt_pdf(two_col, "s3cret"), None)
    write("scanned.pdf", scanned_pdf([title[:48], "", "Port Ellis, 14 March 2025"]), None)
    seeds = Path(argv[0]) if argv else Path(__file__).parents[2] / "shared" / "seeds"
    seed = seeds / "003_7a40c7074827a100.txt"
    if seed.exists():
        st = seed_statement(seed)
        write("seed003.pdf", make_pdf(st, meta_title=st[0][1]), None)
        write("seed003.docx", make_docx(st, tracked=False), None)
    else:
        print(f"{seed} not found: seed documents not written", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
