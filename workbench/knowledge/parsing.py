"""Uploaded bytes + file name -> plain text (and, for PDFs, where each page starts).

Every way a file can be unusable raises `IngestError(filename, reason)` with a sentence a
person can act on, so one bad file in a batch is reported by name while the others go in."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import PurePath

from ..errors import IngestError

log = logging.getLogger(__name__)

# extension -> doc_type stored on the Document
TYPES: dict[str, str] = {
    ".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".pdf": "pdf",
    ".html": "html", ".htm": "html", ".csv": "csv", ".docx": "docx", ".json": "json",
}
SUPPORTED_EXTENSIONS = sorted(TYPES)
_TEXT_TYPES = {"txt", "md", "html", "csv", "json"}

# C0 control characters other than tab, newline, form feed and carriage return: real text
# files almost never contain them, binary files are full of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_RATIO = 0.01


@dataclass(frozen=True)
class Parsed:
    text: str
    doc_type: str
    pages: list[int] | None = None  # start offset of each page in `text` (PDF only)
    encoding: str | None = None  # how a text file was decoded


def doc_type_for(filename: str) -> str | None:
    return TYPES.get(PurePath(filename).suffix.lower())


def format_size(n: int) -> str:
    """Bytes for people: 512 B, 14.2 KB, 3.0 MB."""
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def count(n: int, noun: str) -> str:
    """'1 chunk', '3 chunks'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def check_size(filename: str, size: int, max_bytes: int) -> None:
    if size == 0:
        raise IngestError(filename, "the file is empty.")
    if size > max_bytes:
        raise IngestError(filename, f"the file is {format_size(size)}; the limit is "
                                    f"{format_size(max_bytes)}.")


def parse(filename: str, data: bytes, *, max_bytes: int) -> Parsed:
    """Extract text from one uploaded file. Raises IngestError for anything unusable."""
    check_size(filename, len(data), max_bytes)
    doc_type = doc_type_for(filename)
    if doc_type is None:
        suffix = PurePath(filename).suffix.lower() or "(none)"
        raise IngestError(filename, f"unsupported file type {suffix}; supported: "
                                    f"{', '.join(SUPPORTED_EXTENSIONS)}.")
    if doc_type == "pdf":
        parsed = _parse_pdf(filename, data)
    elif doc_type == "docx":
        parsed = Parsed(_parse_docx(filename, data), "docx")
    else:
        text, encoding = decode_text(filename, data)
        if doc_type == "html":
            text = _html_to_text(text)
        elif doc_type == "csv":
            text = _csv_to_text(filename, text)
        elif doc_type == "json":
            text = _json_to_text(filename, text)
        parsed = Parsed(normalise(text), doc_type, encoding=encoding)
    if not parsed.text.strip():
        if doc_type == "pdf":
            raise IngestError(filename, "the PDF has no text layer (it may be a scan); "
                                        "OCR is not supported.")
        raise IngestError(filename, "no text was found in the file.")
    return parsed


def normalise(text: str) -> str:
    """Unix newlines, no NULs, no trailing spaces, at most two blank lines in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.strip("\n")


# --- text decoding -----------------------------------------------------------------

def _looks_binary(text: str) -> bool:
    if not text:
        return False
    return len(_CONTROL.findall(text)) / len(text) > _MAX_CONTROL_RATIO


def decode_text(filename: str, data: bytes) -> tuple[str, str]:
    """Bytes of a text file -> (text, encoding). UTF-8 first (with or without BOM), UTF-16
    when it has a BOM, then Windows-1252 and Latin-1 for older files; anything that still
    looks like binary (NUL bytes, control characters) is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        if b"\x00" in data[:8192]:
            raise IngestError(filename, "this looks like a binary file, not text.")
        candidates = ["utf-8-sig", "cp1252", "latin-1"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            raise IngestError(filename, "this looks like a binary file, not text.")
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise IngestError(filename, "the text encoding could not be recognised.")


# --- formats -----------------------------------------------------------------------

def _parse_pdf(filename: str, data: bytes) -> Parsed:
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:  # readers accept a little junk before the header
        raise IngestError(filename, "this is not a PDF file (no %PDF header).")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise IngestError(filename, "the PDF is password-protected.")
            except IngestError:
                raise
            except Exception as exc:  # noqa: BLE001 - unsupported encryption
                raise IngestError(filename, "the PDF is encrypted and cannot be read.") from exc
        texts, pages, offset = [], [], 0
        for page in reader.pages:
            page_text = normalise(page.extract_text() or "")
            pages.append(offset)
            texts.append(page_text)
            offset += len(page_text) + 2  # the "\n\n" that joins pages
        if not pages:
            raise IngestError(filename, "the PDF has no pages.")
        return Parsed("\n\n".join(texts), "pdf", pages=pages)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - PdfReadError, but also ValueError, KeyError...
        log.info("pdf %s unreadable: %r", filename, exc)
        raise IngestError(filename, "the PDF is damaged or not readable.") from exc


def _parse_docx(filename: str, data: bytes) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - BadZipFile, KeyError, ValueError, lxml errors
        raise IngestError(filename, "this is not a readable Word (.docx) document.") from exc
    parts: list[str] = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells: list[str] = []
            for cell in row.cells:  # merged cells repeat; keep each text once per row
                if not cells or cells[-1] != cell.text:
                    cells.append(cell.text)
            parts.append(" | ".join(c.strip() for c in cells))
    return normalise("\n".join(parts))


def _html_to_text(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    lines = [line.strip() for line in soup.get_text("\n").splitlines()]
    body = "\n".join(line for line in lines if line)
    return f"{title}\n\n{body}" if title and not body.startswith(title) else body


def _csv_to_text(filename: str, text: str) -> str:
    """Each row as "column: value; column: value" so a chunk keeps the header's meaning."""
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise IngestError(filename, f"the CSV could not be read ({exc}).") from exc
    if not rows:
        return ""
    header = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    if len(rows) == 1:
        return "; ".join(header)
    out = []
    for row in rows[1:]:
        cells = [f"{header[i] if i < len(header) else f'column {i + 1}'}: {v.strip()}"
                 for i, v in enumerate(row) if v.strip()]
        out.append("; ".join(cells))
    return "\n".join(out)


def _json_to_text(filename: str, text: str) -> str:
    """Flattened "path: value" lines: the keys stay next to the values they describe."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(filename, f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                    f"{exc.msg}).") from exc
    lines: list[str] = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            if not node and path:
                lines.append(f"{path}: {{}}")
            for key, child in node.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            if not node and path:
                lines.append(f"{path}: []")
            for i, child in enumerate(node):
                walk(child, f"{path}[{i}]")
        else:
            shown = node if isinstance(node, str) else json.dumps(node)
            lines.append(f"{path}: {shown}" if path else str(shown))

    walk(value, "")
    return "\n".join(lines)
