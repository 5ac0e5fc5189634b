"""Knowledge: add files and snippets, browse, preview, re-index and delete documents, and
try a search. A view only: every action is one call into workbench.knowledge."""

import math

import streamlit as st

from ui.common import current, field_error, fmt_time, require_group, show_error
from workbench.markup import inert
from workbench import knowledge as kb
from workbench.errors import ValidationError, WorkbenchError
from workbench.settings import get_settings

ctx = current()
require_group(ctx)
ss = st.session_state

st.title("Knowledge")
try:
    stats = kb.knowledge_stats(ctx.person_id, ctx.group_id)
except WorkbenchError as err:
    show_error(err)
    st.stop()
st.caption(f"{ctx.group_name}: {kb.count(stats['documents'], 'document')}, {kb.count(stats['chunks'], 'chunk')}. "
           "Agents with the *Search knowledge* tool search these.")

# A message to show once after an action that reruns the page.
for kind, text in ss.pop("kb_flash", []):
    getattr(st, kind)(text)

tab_add, tab_docs, tab_search = st.tabs(["Add", "Documents", "Search"])


def chunk_settings(prefix: str, size: int, overlap: int) -> tuple[int, int]:
    c1, c2 = st.columns(2)
    size = c1.number_input("Chunk size (characters)", min_value=kb.MIN_CHUNK_SIZE,
                           max_value=kb.MAX_CHUNK_SIZE, value=size, step=50, key=f"{prefix}_size")
    overlap = c2.number_input("Chunk overlap (characters)", min_value=0,
                              max_value=kb.MAX_CHUNK_SIZE - 1, value=overlap, step=10,
                              key=f"{prefix}_overlap")
    return int(size), int(overlap)


# --- add -----------------------------------------------------------------------------

with tab_add:
    if not ctx.can_edit:
        st.info("You are a viewer in this group: you can search, but adding documents needs "
                "the editor role.")
    else:
        size, overlap = chunk_settings("kb_add", kb.DEFAULT_CHUNK_SIZE, kb.DEFAULT_CHUNK_OVERLAP)
        st.caption("Settings are kept with each document, so re-indexing reproduces them.")

        st.subheader("Upload files")
        limit_mb = get_settings().max_upload_mb
        n = ss.setdefault("kb_upload_n", 0)
        uploads = st.file_uploader(
            "Files", accept_multiple_files=True, key=f"kb_upload_{n}",
            max_upload_size=max(1, math.ceil(limit_mb)),
            help=f"{', '.join(kb.SUPPORTED_EXTENSIONS)}; up to {limit_mb:g} MB each.")
        if st.button("Add to knowledge base", type="primary", disabled=not uploads,
                     key="kb_add_files"):
            overall = st.progress(0.0, text=f"0 of {len(uploads)} files")
            bars = [st.progress(0.0, text=f"{f.name}: waiting") for f in uploads]

            def on_progress(p: kb.Progress) -> None:
                label = p.stage if not p.message else f"{p.stage} · {p.message}"
                bars[p.file_index].progress(min(1.0, p.file_fraction), text=f"{p.filename}: {label}")
                finished = p.file_index + (1 if p.stage in ("done", "added", "duplicate",
                                                            "error") else 0)
                overall.progress(min(1.0, p.batch_fraction),
                                 text=f"{finished} of {p.file_count} files")

            try:
                result = kb.ingest_files(ctx.person_id, ctx.group_id,
                                         [(f.name, f.getvalue()) for f in uploads],
                                         size, overlap, progress=on_progress)
            except WorkbenchError as err:
                show_error(err)
            else:
                kinds = {"added": "success", "duplicate": "info", "error": "error"}
                ss["kb_flash"] = [(kinds[f.status], f.message) for f in result.files]
                ss["kb_upload_n"] = n + 1  # a fresh, empty uploader
                st.rerun()

        st.subheader("Paste a snippet")
        sn = ss.setdefault("kb_snip_n", 0)
        with st.form(f"kb_snippet_{sn}"):
            title = st.text_input("Title", key=f"kb_snip_title_{sn}")
            snip_err = ss.get("kb_snip_err")
            field_error(snip_err, "title")
            text = st.text_area("Text", height=180, key=f"kb_snip_text_{sn}")
            field_error(snip_err, "text")
            submitted = st.form_submit_button("Add snippet")
        if submitted:
            ss.pop("kb_snip_err", None)
            try:
                res = kb.add_snippet(ctx.person_id, ctx.group_id, title, text, size, overlap)
            except ValidationError as err:
                ss["kb_snip_err"] = err
                st.rerun()
            except WorkbenchError as err:
                show_error(err)
            else:
                ss["kb_flash"] = [("success" if res.ok else "info", res.message)]
                ss["kb_snip_n"] = sn + 1
                st.rerun()

# --- documents -----------------------------------------------------------------------

with tab_docs:
    try:
        docs = kb.list_documents(ctx.person_id, ctx.group_id)
    except WorkbenchError as err:
        show_error(err)
        docs = []
    if not docs:
        st.info("No documents yet. Add files or a snippet on the Add tab.")
    else:
        st.dataframe(
            [{"Name": d.name, "Type": d.doc_type, "Size": kb.format_size(d.size_bytes),
              "Chunks": d.chunk_count, "Added by": d.added_by_name or "",
              "Added at": fmt_time(d.added_at), "Chunk size / overlap": d.settings_label}
             for d in docs],
            hide_index=True, width="stretch")
        by_id = {d.id: d for d in docs}
        if ss.get("sel_kb_doc") not in by_id:
            ss["sel_kb_doc"] = docs[0].id
        doc_id = st.selectbox("Document", list(by_id), key="sel_kb_doc",
                              format_func=lambda i: f"{by_id[i].name} ({by_id[i].doc_type})")
        doc = by_id[doc_id]
        pages = f", {doc.page_count} pages" if doc.page_count else ""
        st.caption(f"{kb.format_size(doc.size_bytes)}{pages} · {doc.chunk_count} chunks of "
                   f"{doc.chunk_size} characters with {doc.chunk_overlap} overlap · added by "
                   f"{doc.added_by_name or 'unknown'} on {fmt_time(doc.added_at)}")

        with st.expander(f"Preview chunks ({doc.chunk_count})"):
            per_page = 20
            last = max(0, (doc.chunk_count - 1) // per_page)
            page_no = 0
            if last:
                page_no = st.number_input(f"Page of chunks (1-{last + 1})", 1, last + 1, 1,
                                          key=f"kb_prev_page_{doc.id}") - 1
            try:
                chunks = kb.get_chunks(ctx.person_id, ctx.group_id, doc.id,
                                       offset=page_no * per_page, limit=per_page)
            except WorkbenchError as err:
                show_error(err)
                chunks = []
            for c in chunks:
                st.markdown(f"**{kb.describe_location(c.page, c.position, c.start_char)}** · "
                            f"{len(c.text)} characters")
                st.text(c.text)

        if ctx.can_edit:
            with st.form(f"kb_reindex_{doc.id}"):
                st.markdown("**Re-index with new settings**")
                new_size, new_overlap = chunk_settings(f"kb_re_{doc.id}", doc.chunk_size,
                                                       doc.chunk_overlap)
                go = st.form_submit_button("Re-index")
            if go:
                bar = st.progress(0.0, text="Embedding")
                try:
                    info = kb.reindex_document(
                        ctx.person_id, ctx.group_id, doc.id, new_size, new_overlap,
                        progress=lambda f: bar.progress(min(1.0, f), text="Embedding"))
                except WorkbenchError as err:
                    show_error(err)
                else:
                    ss["kb_flash"] = [("success", f"{info.name}: re-indexed into "
                                                  f"{info.chunk_count} chunks.")]
                    st.rerun()

            confirm = st.checkbox(f"Yes, delete {doc.name} and its {doc.chunk_count} chunks",
                                  key=f"kb_del_ok_{doc.id}")
            if st.button("Delete document", disabled=not confirm, key=f"kb_del_{doc.id}"):
                try:
                    kb.delete_document(ctx.person_id, ctx.group_id, doc.id)
                except WorkbenchError as err:
                    show_error(err)
                else:
                    ss.pop("sel_kb_doc", None)
                    ss["kb_flash"] = [("success", f"Deleted {doc.name}.")]
                    st.rerun()

# --- search --------------------------------------------------------------------------

with tab_search:
    with st.form("kb_search"):
        query = st.text_input("Query", key="kb_query",
                              placeholder="Ask a question the documents answer")
        k = st.slider("Top-k", 1, kb.MAX_SEARCH_K, 5, key="kb_k")
        searched = st.form_submit_button("Search")
    if searched:
        try:
            ss["kb_hits"] = (ctx.group_id, query,
                             kb.search(ctx.person_id, ctx.group_id, query, k))
        except WorkbenchError as err:
            ss.pop("kb_hits", None)
            show_error(err)
    if ss.get("kb_hits") and ss["kb_hits"][0] == ctx.group_id:  # never another group's
        _, shown_query, hits = ss["kb_hits"]
        if not hits:
            st.info("No results. Add documents first, or try other words.")
        for i, h in enumerate(hits, 1):
            st.markdown(f"**{i}. {inert(h.title)}** · score {h.score:.3f} · "
                        f"{kb.describe_location(h.page, h.position, h.start_char)}")
            st.markdown(kb.highlight_html(h.text, shown_query), unsafe_allow_html=True)
