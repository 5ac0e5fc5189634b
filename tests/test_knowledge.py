"""Knowledge: offline embedder, parsers, chunking, the ingest/delete/re-index/search service,
group isolation, the search_knowledge tool, events, retrieval quality and the page."""

from __future__ import annotations

import importlib
import inspect
import io
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from workbench import knowledge as kb
from workbench.db import session_scope
from workbench.errors import AccessDenied, DocumentNotFound, IngestError, ValidationError
from workbench.knowledge import chunking, embeddings, parsing, store
from workbench.models import Chunk, Document, Event, Thing
from workbench.system import workspace
from workbench.tenancy import groups

MB = 1024 * 1024
PAGE = Path(__file__).resolve().parent.parent / "views" / "knowledge.py"


# --- helpers -----------------------------------------------------------------------

def make_pdf(pages: list[str | None]) -> bytes:
    """A small valid PDF; each page holds the given text (Helvetica), or only a filled
    rectangle (no text layer, like a scan) when the page is None."""
    n = len(pages)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(n))}] "
            f"/Count {n} >>".encode(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(pages):
        if text is None:
            stream = b"0 0 1 rg 100 100 200 200 re f"
        else:
            lines = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                     for ln in text.split("\n")]
            stream = ("BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({ln}) '" for ln in lines)
                      + " ET").encode("latin-1")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                    f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode())
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, val in enumerate(row):
                t.cell(r, c).text = val
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def events_of(type_: str, group_id: int | None = None) -> list[Event]:
    with session_scope() as s:
        q = select(Event).where(Event.type == type_)
        if group_id is not None:
            q = q.where(Event.group_id == group_id)
        return list(s.scalars(q.order_by(Event.id)))


def doc_count(group_id: int) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(Document.id)).where(Document.group_id == group_id))


def chunk_rows(group_id: int) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(Chunk.id)).where(Chunk.group_id == group_id))


def make_agent(group_id: int, name: str = "Helper") -> int:
    with session_scope() as s:
        agent = Thing(group_id=group_id, type="agent", name=name, data={})
        s.add(agent)
        s.flush()
        return agent.id


@pytest.fixture(autouse=True)
def _fresh_chroma():
    """Each test's data dir has its own Chroma folder; forget clients of earlier tests."""
    store.reset_clients()
    embeddings.query_cache.clear()
    yield
    store.reset_clients()


WHALES = ("Blue whales are the largest animals ever known to have lived. They feed almost "
          "entirely on krill, tiny shrimp-like crustaceans, and can eat several tonnes a day. ")
BREAD = ("To bake sourdough bread, mix flour, water and salt with an active starter, let the "
         "dough rise slowly overnight, shape it, and bake it in a very hot Dutch oven. ")


# --- embedder ----------------------------------------------------------------------

def test_embedder_related_vs_unrelated():
    e = embeddings.get_embedder()
    assert e is embeddings.get_embedder()  # loaded once per process
    v = e.embed(["A man is eating food.", "A man is eating a piece of bread.",
                 "The weather is lovely today.", "It's so sunny outside!",
                 "Quarterly revenue grew by 12 percent.", "The kitten sleeps on the sofa."])
    assert v.shape == (6, embeddings.DIMENSIONS) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    related = [sim[0, 1], sim[2, 3]]
    unrelated = [sim[0, 4], sim[2, 4], sim[1, 5], sim[3, 4]]
    print(f"related {np.round(related, 3)} unrelated {np.round(unrelated, 3)}")
    assert min(related) > 0.6
    assert max(abs(u) for u in unrelated) < 0.2
    assert min(related) - max(unrelated) > 0.45


def test_embedding_is_batch_and_order_independent():
    e = embeddings.get_embedder()
    texts = ["short", "a somewhat longer sentence about rivers and lakes", "mid length text"]
    together = e.embed(texts, batch_size=2)
    alone = np.stack([e.encode_batch([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)  # padding never changes a vector


def test_long_text_is_truncated_not_rejected():
    vec = embeddings.embed_texts(["word " * 5000])
    assert vec.shape == (1, 384) and np.isfinite(vec).all()


def test_query_cache_hits_and_expires(monkeypatch):
    embeddings.query_cache.clear()
    a = embeddings.embed_query("where do whales live")
    b = embeddings.embed_query("  where do   whales live ")
    assert a is b and embeddings.query_cache.hits == 1
    cache = embeddings.QueryCache(maxsize=2)
    now = [1000.0]
    monkeypatch.setattr(embeddings.time, "monotonic", lambda: now[0])
    cache.put("q", a, ttl=300)
    now[0] += 299
    assert cache.get("q") is a
    now[0] += 2
    assert cache.get("q") is None  # older than the TTL
    cache.put("x", a, 300), cache.put("y", a, 300), cache.put("z", a, 300)
    assert cache.get("x") is None  # LRU bound


# --- parsing -----------------------------------------------------------------------

def test_parse_every_supported_type():
    limit = 10 * MB
    txt = parsing.parse("notes.txt", b"Plain text\r\nsecond line", max_bytes=limit)
    assert txt.doc_type == "txt" and txt.text == "Plain text\nsecond line"
    assert parsing.parse("README.md", b"# Title\n\nSome *markdown*.", max_bytes=limit).doc_type == "md"

    page = (b"<html><head><title>Whale facts</title><style>p{color:red}</style></head><body>"
            b"<script>alert('x')</script><h1>Whales</h1><p>Blue whales eat krill.</p></body></html>")
    html = parsing.parse("page.html", page, max_bytes=limit)
    assert "Blue whales eat krill." in html.text and "Whale facts" in html.text
    assert "alert" not in html.text and "color:red" not in html.text and "<p>" not in html.text

    csv_ = parsing.parse("animals.csv", b"name,food\nblue whale,krill\npanda,bamboo\n",
                         max_bytes=limit)
    assert csv_.text.splitlines() == ["name: blue whale; food: krill", "name: panda; food: bamboo"]

    js = parsing.parse("data.json", json.dumps({"animal": {"name": "whale", "foods": ["krill"]},
                                                "count": 3}).encode(), max_bytes=limit)
    assert js.text.splitlines() == ["animal.name: whale", "animal.foods[0]: krill", "count: 3"]

    dx = parsing.parse("report.docx", make_docx(["First paragraph.", "Second paragraph."],
                                                [["Animal", "Food"], ["Whale", "Krill"]]),
                       max_bytes=limit)
    assert dx.doc_type == "docx"
    assert "First paragraph.\nSecond paragraph." in dx.text and "Whale | Krill" in dx.text

    pdf = parsing.parse("paper.pdf", make_pdf(["Page one about whales.", "Page two about bread."]),
                        max_bytes=limit)
    assert pdf.doc_type == "pdf" and len(pdf.pages) == 2
    assert pdf.text[pdf.pages[1]:].startswith("Page two about bread.")
    assert chunking.page_of(pdf.pages[1] + 3, pdf.pages) == 2
    assert chunking.page_of(0, pdf.pages) == 1


def test_non_utf8_text_is_decoded():
    cp = parsing.parse("old.txt", "Café crème – naïve résumé".encode("cp1252"), max_bytes=MB)
    assert cp.text == "Café crème – naïve résumé" and cp.encoding == "cp1252"
    utf16 = parsing.parse("win.txt", "Grüße aus Köln".encode("utf-16"), max_bytes=MB)
    assert utf16.text == "Grüße aus Köln"
    bom = parsing.parse("bom.md", "\ufeff# Überschrift".encode("utf-8"), max_bytes=MB)
    assert bom.text == "# Überschrift"


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "empty"),
    ("image.txt", bytes(range(256)) * 40, "binary"),
    ("png.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
    ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage", "damaged"),
    ("truncated.pdf", make_pdf(["Some text here"])[:180], "damaged"),
    ("notreally.pdf", b"just some text", "not a PDF"),
    ("scan.pdf", make_pdf([None, None]), "no text layer"),
    ("program.exe", b"MZ\x90\x00", "unsupported file type .exe"),
    ("noextension", b"hello", "unsupported file type (none)"),
    ("bad.json", b'{"a": 1,,}', "not valid JSON"),
    ("bad.docx", b"PK\x03\x04 not a real zip", "not a readable Word"),
    ("blank.md", b"   \n\n  \t\n", "no text"),
])
def test_bad_inputs_raise_ingest_error_with_a_reason(name, data, reason):
    with pytest.raises(IngestError) as info:
        parsing.parse(name, data, max_bytes=MB)
    assert info.value.filename == name
    assert reason in info.value.reason
    assert info.value.user_message.startswith(f"{name}: ")


def test_file_over_the_size_limit():
    with pytest.raises(IngestError, match=r"big.txt: the file is 2.0 MB; the limit is 1.0 MB"):
        parsing.parse("big.txt", b"a" * (2 * MB), max_bytes=MB)


# --- chunking ----------------------------------------------------------------------

def test_chunks_know_their_offsets_and_overlap():
    text = inspect.getdoc(json)
    pieces = chunking.split(text, 300, 60)
    assert len(pieces) > 3 and [p.position for p in pieces] == list(range(len(pieces)))
    for p in pieces:
        assert len(p.text) <= 300
        assert text[p.start_char:p.start_char + len(p.text)] == p.text
    assert chunking.split(text, 300, 60) == pieces  # same settings, same chunks
    fewer = chunking.split(text, 800, 100)
    assert len(fewer) < len(pieces)


@pytest.mark.parametrize("size, overlap, field", [(50, 0, "chunk_size"), (9000, 10, "chunk_size"),
                                                  (500, 500, "chunk_overlap"),
                                                  (500, -1, "chunk_overlap")])
def test_chunk_settings_are_validated(size, overlap, field):
    with pytest.raises(ValidationError) as info:
        chunking.validate_settings(size, overlap)
    assert field in info.value.field_errors


# --- service: ingest, dedupe, delete, re-index --------------------------------------

def test_batch_ingests_good_files_and_reports_bad_ones_by_name(wb, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_UPLOAD_MB", "0.01")  # 10 KB
    from workbench import settings
    settings.reset_settings()
    seen: list[kb.Progress] = []
    files = [
        ("whales.txt", WHALES.encode() * 3),
        ("empty.txt", b""),
        ("bread.md", BREAD.encode()),
        ("huge.txt", b"x " * 8000),
        ("binary.txt", bytes(range(256)) * 4),
        ("scan.pdf", make_pdf([None])),
        ("paper.pdf", make_pdf(["Krill are small crustaceans.", "Whales eat krill."])),
        ("table.csv", b"city,country\nParis,France\nLima,Peru\n"),
        ("legacy.txt", "Smörgåsbord à la carte".encode("cp1252")),
        ("evil.zip", b"PK\x03\x04"),
    ]
    result = kb.ingest_files(wb.person_id, wb.group_id, files, 300, 30, progress=seen.append)
    status = {f.filename: f.status for f in result.files}
    assert status == {"whales.txt": "added", "empty.txt": "error", "bread.md": "added",
                      "huge.txt": "error", "binary.txt": "error", "scan.pdf": "error",
                      "paper.pdf": "added", "table.csv": "added", "legacy.txt": "added",
                      "evil.zip": "error"}
    for f in result.errors:
        assert isinstance(f.error, IngestError) and f.message.startswith(f.filename + ": ")
    assert "the file is 15.6 KB; the limit is 10.2 KB" in next(f for f in result.errors if f.filename == "huge.txt").message
    assert doc_count(wb.group_id) == 5
    assert store.count(wb.group_id) == chunk_rows(wb.group_id) == result.chunk_count

    docs = {d.name: d for d in kb.list_documents(wb.person_id, wb.group_id)}
    assert set(docs) == {"whales.txt", "bread.md", "paper.pdf", "table.csv", "legacy.txt"}
    pdf = docs["paper.pdf"]
    assert pdf.doc_type == "pdf" and pdf.page_count == 2 and pdf.added_by_name
    assert (pdf.chunk_size, pdf.chunk_overlap) == (300, 30)
    pdf_chunks = kb.get_chunks(wb.person_id, wb.group_id, pdf.id)
    assert [c.page for c in pdf_chunks][0] == 1

    # progress: per file and for the batch, never going backwards, ending at 1
    fractions = [p.batch_fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert {p.stage for p in seen} >= {"parse", "chunk", "embed", "store", "added", "error"}
    assert all(0.0 <= p.file_fraction <= 1.0 for p in seen)


def test_same_content_is_not_added_twice(wb):
    first = kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode())])
    assert first.files[0].ok
    again = kb.ingest_files(wb.person_id, wb.group_id, [("copy of whales.txt", WHALES.encode()),
                                                        ("bread.txt", BREAD.encode()),
                                                        ("bread again.md", BREAD.encode())])
    assert [f.status for f in again.files] == ["duplicate", "added", "duplicate"]
    assert again.files[0].message == "copy of whales.txt: already in the knowledge base as whales.txt."
    assert again.files[2].existing_name == "bread.txt"
    snippet = kb.add_snippet(wb.person_id, wb.group_id, "Pasted", WHALES)
    assert snippet.status == "duplicate" and "as whales.txt" in snippet.message
    assert doc_count(wb.group_id) == 2


def test_snippet_is_validated_and_added(wb):
    with pytest.raises(ValidationError) as info:
        kb.add_snippet(wb.person_id, wb.group_id, "  ", "")
    assert set(info.value.field_errors) == {"title", "text"}
    res = kb.add_snippet(wb.person_id, wb.group_id, "Whale note", WHALES)
    assert res.ok and res.chunk_count == 1
    doc = kb.get_document(wb.person_id, wb.group_id, res.document_id)
    assert doc.doc_type == "snippet" and doc.name == "Whale note"


def test_failure_while_storing_leaves_nothing_half_written(wb, monkeypatch):
    kb.ingest_files(wb.person_id, wb.group_id, [("bread.txt", BREAD.encode())])
    before_docs, before_vectors = doc_count(wb.group_id), store.count(wb.group_id)
    real_upsert = store.upsert

    def upsert_then_fail(*args, **kwargs):  # vectors go in, then the database "fails"
        real_upsert(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "upsert", upsert_then_fail)
    result = kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode() * 5)])
    assert result.files[0].status == "error" and "nothing was stored" in result.files[0].message
    assert doc_count(wb.group_id) == before_docs
    assert store.count(wb.group_id) == before_vectors  # the new vectors were taken out again
    monkeypatch.setattr(store, "upsert", real_upsert)
    assert kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode() * 5)]).files[0].ok


def test_delete_removes_rows_and_vectors(wb):
    res = kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode() * 8),
                                                      ("bread.txt", BREAD.encode())], 200, 20)
    whales = res.files[0]
    assert store.count(wb.group_id) == res.chunk_count
    kb.delete_document(wb.person_id, wb.group_id, whales.document_id)
    assert store.count(wb.group_id) == res.files[1].chunk_count
    assert chunk_rows(wb.group_id) == res.files[1].chunk_count
    with pytest.raises(DocumentNotFound):
        kb.get_chunks(wb.person_id, wb.group_id, whales.document_id)
    hits = kb.search(wb.person_id, wb.group_id, "what do blue whales eat", 5)
    assert all(h.document_id != whales.document_id for h in hits)
    with pytest.raises(DocumentNotFound):
        kb.delete_document(wb.person_id, wb.group_id, whales.document_id)
    # the same content can be added again after a delete
    assert kb.ingest_files(wb.person_id, wb.group_id, [("w.txt", WHALES.encode() * 8)]).files[0].ok


def test_failed_delete_puts_vectors_back(wb, monkeypatch):
    res = kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode() * 4)], 200, 0)
    n = store.count(wb.group_id)
    real = store.delete_document

    def delete_then_fail(group_id, document_id):
        real(group_id, document_id)
        raise RuntimeError("chroma went away")

    monkeypatch.setattr(store, "delete_document", delete_then_fail)
    with pytest.raises(RuntimeError):
        kb.delete_document(wb.person_id, wb.group_id, res.files[0].document_id)
    assert store.count(wb.group_id) == n and doc_count(wb.group_id) == 1
    assert kb.search(wb.person_id, wb.group_id, "krill", 1)[0].title == "whales.txt"


def test_reindex_with_new_settings(wb):
    text = inspect.getdoc(json)
    res = kb.ingest_files(wb.person_id, wb.group_id, [("json.txt", text.encode())])
    doc_id, first_count = res.files[0].document_id, res.files[0].chunk_count
    original = [c.text for c in kb.get_chunks(wb.person_id, wb.group_id, doc_id)]
    info = kb.reindex_document(wb.person_id, wb.group_id, doc_id, 300, 50)
    assert (info.chunk_size, info.chunk_overlap) == (300, 50) and info.chunk_count > first_count
    chunks = kb.get_chunks(wb.person_id, wb.group_id, doc_id)
    assert len(chunks) == info.chunk_count == store.count(wb.group_id)
    assert all(len(c.text) <= 300 for c in chunks)
    back = kb.reindex_document(wb.person_id, wb.group_id, doc_id, 800, 100)
    assert back.chunk_count == first_count  # the stored settings reproduce the chunks
    assert [c.text for c in kb.get_chunks(wb.person_id, wb.group_id, doc_id)] == original
    assert store.count(wb.group_id) == first_count
    hits = kb.search(wb.person_id, wb.group_id, "serialize an object to a JSON string", 3)
    assert hits and all(h.document_id == doc_id for h in hits)
    with pytest.raises(ValidationError):
        kb.reindex_document(wb.person_id, wb.group_id, doc_id, 100, 200)


def test_failed_reindex_keeps_the_old_chunks(wb, monkeypatch):
    res = kb.ingest_files(wb.person_id, wb.group_id, [("json.txt", inspect.getdoc(json).encode())])
    doc_id = res.files[0].document_id
    before = [c.text for c in kb.get_chunks(wb.person_id, wb.group_id, doc_id)]
    real = store.upsert

    def fail(*a, **k):
        real(*a, **k)
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "upsert", fail)
    with pytest.raises(RuntimeError):
        kb.reindex_document(wb.person_id, wb.group_id, doc_id, 200, 0)
    monkeypatch.setattr(store, "upsert", real)
    assert [c.text for c in kb.get_chunks(wb.person_id, wb.group_id, doc_id)] == before
    assert store.count(wb.group_id) == len(before)
    assert kb.get_document(wb.person_id, wb.group_id, doc_id).chunk_size == 800
    assert kb.search(wb.person_id, wb.group_id, "JSON encoder", 1)[0].document_id == doc_id


# --- search, isolation, access -----------------------------------------------------

def test_search_scores_and_highlighting(wb):
    kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode()),
                                                ("bread.txt", BREAD.encode())])
    hits = kb.search(wb.person_id, wb.group_id, "What do blue whales eat?", 2)
    assert [h.title for h in hits] == ["whales.txt", "bread.txt"]
    assert hits[0].score > 0.5 > hits[1].score and hits[0].page is None
    html = kb.highlight_html("Blue <b>whales</b> eat KRILL & more $5", "blue whale krill")
    assert "<mark>Blue</mark>" in html and "<mark>whales</mark>" in html
    assert "<mark>KRILL</mark>" in html and "&lt;b&gt;" in html and "&amp;" in html
    assert "$" not in html
    with pytest.raises(ValidationError):
        kb.search(wb.person_id, wb.group_id, "   ", 5)
    with pytest.raises(ValidationError):
        kb.search(wb.person_id, wb.group_id, "whales", 21)


def test_search_on_an_empty_group(wb):
    assert kb.search(wb.person_id, wb.group_id, "anything", 5) == []


def test_groups_never_see_each_others_chunks(wb):
    other = workspace.create_group(wb.person_id, "Other").id
    shared = WHALES + "This copy belongs to group {}."
    a = kb.ingest_files(wb.person_id, wb.group_id, [("a-whales.txt", shared.format("A").encode()),
                                                    ("a-bread.txt", BREAD.encode())])
    b = kb.ingest_files(wb.person_id, other, [("b-whales.txt", shared.format("B").encode()),
                                              ("b-bread.txt", BREAD.encode())])
    assert all(f.ok for f in a.files + b.files)  # same bread content in two groups is fine
    assert store.collection_name(wb.group_id) != store.collection_name(other)
    hits_a = kb.search(wb.person_id, wb.group_id, "blue whales krill", 20)
    hits_b = kb.search(wb.person_id, other, "blue whales krill", 20)
    a_ids = {f.document_id for f in a.files}
    b_ids = {f.document_id for f in b.files}
    assert {h.document_id for h in hits_a} == a_ids
    assert {h.document_id for h in hits_b} == b_ids
    with pytest.raises(DocumentNotFound):  # another group's document does not exist here
        kb.get_chunks(wb.person_id, wb.group_id, b.files[0].document_id)
    with pytest.raises(DocumentNotFound):
        kb.delete_document(wb.person_id, wb.group_id, b.files[0].document_id)

    # the tool is bound to its run's group
    from workbench.tools.registry import ToolContext, builtin_tools
    tool = builtin_tools()["search_knowledge"]
    agent_b = make_agent(other)
    out_a = json.loads(tool.fn(ToolContext(wb.group_id, wb.person_id, wb.agent_id, 0),
                               query="blue whales krill", limit=20))
    out_b = json.loads(tool.fn(ToolContext(other, wb.person_id, agent_b, 0),
                               query="blue whales krill", limit=20))
    assert {r["document_id"] for r in out_a} == a_ids
    assert {r["document_id"] for r in out_b} == b_ids
    with pytest.raises(AccessDenied):  # an agent of group A cannot search group B
        tool.fn(ToolContext(other, wb.person_id, wb.agent_id, 0), query="whales", limit=3)

    # a member of group A only is refused in group B, for pages and for the tool
    outsider = groups.add_member(wb.person_id, wb.group_id, email="viewer@example.com",
                                 role="viewer").id
    assert kb.search(outsider, wb.group_id, "whales", 3)
    with pytest.raises(AccessDenied):
        kb.search(outsider, other, "whales", 3)
    with pytest.raises(AccessDenied):
        kb.list_documents(outsider, other)
    with pytest.raises(AccessDenied):
        tool.fn(ToolContext(other, outsider, agent_b, 0), query="whales", limit=3)


def test_viewers_read_but_cannot_write(wb):
    res = kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode())])
    viewer = groups.add_member(wb.person_id, wb.group_id, email="v@example.com", role="viewer").id
    assert [d.name for d in kb.list_documents(viewer, wb.group_id)] == ["whales.txt"]
    with pytest.raises(AccessDenied):
        kb.ingest_files(viewer, wb.group_id, [("bread.txt", BREAD.encode())])
    with pytest.raises(AccessDenied):
        kb.add_snippet(viewer, wb.group_id, "t", BREAD)
    with pytest.raises(AccessDenied):
        kb.delete_document(viewer, wb.group_id, res.files[0].document_id)
    with pytest.raises(AccessDenied):
        kb.reindex_document(viewer, wb.group_id, res.files[0].document_id, 300, 0)
    assert doc_count(wb.group_id) == 1


# --- the tool and events -----------------------------------------------------------

def test_search_knowledge_tool_json_and_schema(wb):
    from workbench.tools.registry import ToolContext, bind_tools, builtin_tools
    from workbench.tools.search_knowledge import RESULT_KEYS, SearchKnowledgeArgs, parse_sources

    pdf = make_pdf(["Intro page.", "Blue whales feed on krill in cold oceans."])
    kb.ingest_files(wb.person_id, wb.group_id, [("ocean.pdf", pdf), ("bread.txt", BREAD.encode())])
    spec = builtin_tools()["search_knowledge"]
    assert spec.label == "Search knowledge"
    ctx = ToolContext(wb.group_id, wb.person_id, wb.agent_id, thread_id=7, run_id=3)
    tool = bind_tools(ctx, ["search_knowledge"])["search_knowledge"]
    out = tool.invoke({"query": "what do whales eat", "limit": 1})
    items = json.loads(out)
    assert len(items) == 1 and tuple(items[0]) == RESULT_KEYS
    top = items[0]
    assert top["title"] == "ocean.pdf" and top["page"] == 1 and "krill" in top["text"]
    assert isinstance(top["score"], float) and 0 < top["score"] <= 1
    assert parse_sources(out) == items and parse_sources("Error: boom") == []
    assert len(json.loads(tool.invoke({"query": "bread"}))) == 2  # default limit 5, 2 docs
    for bad in ({"query": "x", "limit": 0}, {"query": "x", "limit": 21}, {"query": ""}):
        with pytest.raises(Exception):
            SearchKnowledgeArgs(**bad)


def test_events_are_written(wb):
    res = kb.ingest_files(wb.person_id, wb.group_id, [("whales.txt", WHALES.encode())])
    doc_id = res.files[0].document_id
    kb.reindex_document(wb.person_id, wb.group_id, doc_id, 200, 0)
    kb.search(wb.person_id, wb.group_id, "krill", 4)
    from workbench.tools.registry import ToolContext, builtin_tools
    builtin_tools()["search_knowledge"].fn(ToolContext(wb.group_id, wb.person_id, wb.agent_id, 5),
                                      query="whale food", limit=2)
    kb.delete_document(wb.person_id, wb.group_id, doc_id)

    added = events_of("knowledge_added", wb.group_id)
    assert len(added) == 1 and added[0].target_id == doc_id and added[0].actor_id == wb.person_id
    assert added[0].data["name"] == "whales.txt" and added[0].data["chunk_count"] == 1
    re_ = events_of("knowledge_reindexed", wb.group_id)[0]
    assert re_.data["after"]["chunk_size"] == 200 and re_.data["before"]["chunk_size"] == 800
    deleted = events_of("knowledge_deleted", wb.group_id)[0]
    assert deleted.target_id == doc_id and deleted.data["name"] == "whales.txt"
    page_search, tool_search = events_of("knowledge_searched", wb.group_id)
    assert page_search.actor_type == "person" and page_search.actor_id == wb.person_id
    assert page_search.data["query"] == "krill" and page_search.data["k"] == 4
    assert page_search.data["result_count"] == 1
    assert tool_search.actor_type == "agent" and tool_search.actor_id == wb.agent_id
    assert tool_search.data["k"] == 2 and tool_search.data["query"] == "whale food"
    for e in (page_search, tool_search):
        assert not any(isinstance(v, list) and len(v) > 50 for v in e.data.values())  # no vectors


# --- retrieval quality -------------------------------------------------------------

CORPUS_MODULES = ["json", "csv", "sqlite3", "zipfile", "argparse", "base64", "hashlib",
                  "tempfile", "shutil", "heapq", "textwrap", "uuid", "gzip", "difflib",
                  "statistics"]

# (question, module whose documentation answers it); worded without copying the docs
QUESTIONS = [
    ("How do I turn a Python dictionary into a string that JavaScript can read?", "json"),
    ("read rows from a spreadsheet exported as comma separated values", "csv"),
    ("run SQL queries against an embedded database file", "sqlite3"),
    ("add files to a compressed archive and list its members", "zipfile"),
    ("define the options and flags my script accepts from the terminal", "argparse"),
    ("represent binary bytes as printable ASCII for e-mail transport", "base64"),
    ("compute a secure digest such as SHA-256 of some bytes", "hashlib"),
    ("make a scratch file that disappears once it is closed", "tempfile"),
    ("copy a whole directory tree with all its files", "shutil"),
    ("always take the smallest item from a priority queue", "heapq"),
    ("wrap a long paragraph so no line is wider than 70 characters", "textwrap"),
    ("generate a random identifier that is unique across machines", "uuid"),
    ("compute the median and standard deviation of a list of numbers", "statistics"),
    ("show the lines that changed between two versions of a text", "difflib"),
]


def module_documentation(name: str) -> str:
    """A module's docstring and its public functions' and classes' docstrings: real text
    that ships with Python."""
    mod = importlib.import_module(name)
    parts = [f"Module {name}", inspect.getdoc(mod) or ""]
    for attr in getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]:
        obj = getattr(mod, attr, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)):
            continue
        doc = inspect.getdoc(obj)
        if doc:
            parts.append(f"{name}.{attr}: {doc[:700]}")
    return "\n\n".join(parts)[:8000]


def test_retrieval_recall_at_5(wb):
    files = [(f"{m}.txt", module_documentation(m).encode()) for m in CORPUS_MODULES]
    result = kb.ingest_files(wb.person_id, wb.group_id, files)
    assert not result.errors
    found = []
    for question, module in QUESTIONS:
        titles = {h.title for h in kb.search(wb.person_id, wb.group_id, question, 5)}
        found.append(f"{module}.txt" in titles)
    recall = sum(found) / len(found)
    print(f"recall@5 = {recall:.2f} over {len(found)} questions, {result.chunk_count} chunks")
    assert recall >= 0.8, [q for (q, _), ok in zip(QUESTIONS, found) if not ok]


# --- the page ----------------------------------------------------------------------

def test_knowledge_page_snippet_and_search(wb):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["person_id"] = wb.person_id
    at.session_state["group_id"] = wb.group_id
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Knowledge"

    at.text_input(key="kb_snip_title_0").input("Whale facts")
    at.text_area(key="kb_snip_text_0").input(WHALES)
    at.button(key="FormSubmitter:kb_snippet_0-Add snippet").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Whale facts: added" in s.value for s in at.success)
    assert "1 document, " in at.caption[0].value
    assert at.dataframe[0].value["Name"].tolist() == ["Whale facts"]

    at.text_input(key="kb_query").input("what do blue whales eat")
    at.button(key="FormSubmitter:kb_search-Search").click()
    at.run()
    assert not at.exception, at.exception
    shown = [m.value for m in at.markdown]
    assert any("Whale facts" in m and "score" in m for m in shown)
    assert any("<mark>whales</mark>" in m for m in shown)
    assert events_of("knowledge_searched", wb.group_id)


def test_knowledge_page_shows_snippet_errors_and_deletes(wb):
    from streamlit.testing.v1 import AppTest

    kb.add_snippet(wb.person_id, wb.group_id, "Bread", BREAD)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["person_id"] = wb.person_id
    at.session_state["group_id"] = wb.group_id
    at.run()
    at.button(key="FormSubmitter:kb_snippet_0-Add snippet").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Give the snippet a title." in c.value for c in at.caption)

    doc_id = kb.list_documents(wb.person_id, wb.group_id)[0].id
    at.checkbox(key=f"kb_del_ok_{doc_id}").check()
    at.run()
    at.button(key=f"kb_del_{doc_id}").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Deleted Bread." in s.value for s in at.success)
    assert doc_count(wb.group_id) == 0 and store.count(wb.group_id) == 0
