"""Knowledge pipeline: ingestion throughput and top-5 search latency.

1. Ingestion. Real text (the documentation of 20 standard-library modules, one file each)
   goes through `workbench.knowledge.ingest_files` (parse, chunk, embed, write rows, write
   vectors). The baseline, in the same run, is raw onnxruntime on the very same chunk
   texts: the same model file, tokenizer and session settings, batches of 32 in document
   order, mean pooling and normalisation, nothing else. The two alternate file by file (order flipped each
   time) so load from other processes hits both alike; wall-clock and CPU-time ratios are
   both printed. Target: pipeline chunks/s >= 0.85 x baseline chunks/s.

2. Search latency with 10k and 100k chunks in one group. Embedding 100k chunks would take
   hours on 2 cores, so those chunks are synthetic: random unit vectors written straight
   into the group's Chroma collection (without chunk text), with matching chunk rows in
   SQLite. Random vectors
   have no cluster structure, the hard case for HNSW. Timed: the Chroma top-5 query alone,
   and the whole `knowledge.search` call (access check, Chroma, SQL join of chunk rows and
   document names, event write) with the query vector already cached, i.e. excluding the
   query embedding, whose own cost is printed separately. Target: p50 < 20 ms.

    python bench/knowledge.py [--modules 20] [--rounds 2] [--sizes 10000,100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODULES = [
    "json", "csv", "sqlite3", "zipfile", "argparse", "base64", "hashlib", "tempfile", "shutil",
    "heapq", "textwrap", "uuid", "gzip", "difflib", "statistics", "datetime", "pathlib",
    "logging", "subprocess", "threading", "collections", "functools", "itertools", "random",
    "string", "re", "decimal", "fractions", "calendar", "email", "http.client", "urllib.parse",
    "socket", "ssl", "configparser", "pickle", "copy", "pprint", "typing", "dataclasses",
    "contextlib", "asyncio", "unittest", "doctest", "tarfile", "bz2", "lzma", "struct",
]


def module_documentation(name: str) -> str:
    mod = importlib.import_module(name)
    parts = [f"Module {name}", inspect.getdoc(mod) or ""]
    for attr in getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]:
        obj = getattr(mod, attr, None)
        if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj):
            doc = inspect.getdoc(obj)
            if doc:
                parts.append(f"{name}.{attr}: {doc[:1200]}")
    return "\n\n".join(parts)[:12000]


class RawOnnx:
    """The baseline: the same model file and tokenizer, onnxruntime with the same session
    settings, batches of 32 in document order, mean pooling and normalisation. No
    pipeline, no length sorting, no database, no Chroma."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from workbench.knowledge import embeddings as emb

        onnx_path, zip_path = emb.model_files()
        self.tok = Tokenizer.from_str(emb._read_tokenizer_json(zip_path))
        self.tok.enable_truncation(max_length=256)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")
        # the same session settings as the app's embedder, so the ratio measures the
        # pipeline's overhead, not a difference in onnxruntime tuning
        self.sess = ort.InferenceSession(str(onnx_path), sess_options=emb.session_options(),
                                         providers=["CPUExecutionProvider"])
        self.embed(["warm up"])

    def embed(self, texts: list[str], batch_size: int = 32):
        import numpy as np

        out = []
        for start in range(0, len(texts), batch_size):
            encs = self.tok.encode_batch(texts[start:start + batch_size])
            ids = np.asarray([e.ids for e in encs], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
            hidden = self.sess.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


class Clock:
    """Wall time and process CPU time (all threads) of a block: other processes on a busy
    machine slow the wall clock of whatever runs at that moment, CPU time much less."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def bench_ingest(start, n_modules: int, rounds: int) -> None:
    from workbench import knowledge as kb
    from workbench.knowledge import chunking, embeddings, parsing
    from workbench.system import workspace

    files = []
    for name in MODULES[:n_modules]:
        try:
            files.append((f"{name}.txt", module_documentation(name).encode()))
        except Exception:  # noqa: BLE001 - a module missing on this Python
            continue
    # the chunks the pipeline will make (same functions, same settings), for the baseline
    texts = [[p.text for p in chunking.split(parsing.parse(n, d, max_bytes=10**9).text)]
             for n, d in files]
    n_chunks = sum(map(len, texts))
    embeddings.get_embedder()  # model loads are once per process: not part of throughput
    raw = RawOnnx()
    print(f"ingestion: {len(files)} files, {sum(len(d) for _, d in files) / 1024:.0f} KB of "
          f"standard-library documentation -> {n_chunks} chunks (800 / 100); pipeline and "
          "baseline alternate file by file")
    totals = {"P": [0.0, 0.0], "B": [0.0, 0.0]}  # wall, cpu
    stages = dict.fromkeys(("parse", "chunk", "embed", "store"), 0.0)
    for rnd in range(rounds):
        gid = workspace.create_group(start.person_id, f"bench ingest {rnd}").id
        rw = {"P": [0.0, 0.0], "B": [0.0, 0.0]}
        for i, (f, chunk_texts) in enumerate(zip(files, texts)):
            for step in ("PB" if (i + rnd) % 2 == 0 else "BP"):
                with Clock() as c:
                    if step == "P":
                        res = kb.ingest_files(start.person_id, gid, [f])
                    else:
                        raw.embed(chunk_texts)
                if step == "P":
                    assert res.files[0].ok and res.files[0].chunk_count == len(chunk_texts), \
                        res.files[0].message
                    for k in stages:
                        stages[k] += res.files[0].timings.get(k, 0.0)
                rw[step][0] += c.wall
                rw[step][1] += c.cpu
        for k in "PB":
            totals[k][0] += rw[k][0]
            totals[k][1] += rw[k][1]
        print(f"  round {rnd + 1}: pipeline {n_chunks / rw['P'][0]:6.1f} chunks/s, raw onnxruntime "
              f"{n_chunks / rw['B'][0]:6.1f} chunks/s (wall clock)")
    pw, pc = totals["P"]
    bw, bc = totals["B"]
    total = n_chunks * rounds
    print("  pipeline stages: " + ", ".join(f"{k} {v / total * 1000:.1f} ms/chunk"
                                            for k, v in stages.items()))
    ratio_wall, ratio_cpu = bw / pw, bc / pc
    print(f"  => pipeline {total / pw:.1f} chunks/s vs raw onnxruntime {total / bw:.1f} chunks/s: "
          f"ratio {ratio_wall:.2f} wall clock, {ratio_cpu:.2f} CPU time (target >= 0.85) "
          f"{'OK' if ratio_wall >= 0.85 else 'BELOW TARGET'}")


def fill_group(person_id: int, group_id: int, n: int, rng) -> None:
    """n synthetic chunks: rows in SQLite and random unit vectors in Chroma."""
    import numpy as np
    from sqlalchemy import insert

    from workbench.db import session_scope
    from workbench.knowledge import store
    from workbench.models import Chunk, Document

    per_doc = 1000
    base = group_id * 10_000_000
    with session_scope() as s:
        docs = [Document(group_id=group_id, name=f"synthetic-{i}.txt", doc_type="txt",
                         size_bytes=per_doc * 800, content_hash=f"g{group_id}-synthetic-{i}",
                         text="", chunk_size=800, chunk_overlap=100, chunk_count=per_doc,
                         added_by=person_id) for i in range((n + per_doc - 1) // per_doc)]
        s.add_all(docs)
        s.flush()
        doc_ids = [d.id for d in docs]
        s.execute(insert(Chunk), [{"id": base + i, "document_id": doc_ids[i // per_doc],
                                   "group_id": group_id, "position": i % per_doc,
                                   "text": f"synthetic chunk {i}", "start_char": 0}
                                  for i in range(n)])
    step = 5000
    col = store.get_collection(group_id)
    for start in range(0, n, step):
        m = min(step, n - start)
        vecs = rng.standard_normal((m, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        ids = [base + start + j for j in range(m)]
        # no chunk text in Chroma here (the app stores it; searches never read it back, and
        # its full-text index would add ~30% to the fill time without changing the query)
        col.add(ids=[store.vector_id(i) for i in ids], embeddings=vecs,
                metadatas=[{"group_id": group_id, "document_id": doc_ids[(i - base) // per_doc],
                            "chunk_id": i, "position": (i - base) % per_doc} for i in ids])


def bench_search(start, sizes: list[int], n_queries: int) -> None:
    import numpy as np

    from workbench import knowledge as kb
    from workbench.knowledge import embeddings, store
    from workbench.system import workspace

    rng = np.random.default_rng(7)
    # the query embedding itself, uncached, for context
    emb = embeddings.get_embedder()
    q_times = []
    for i in range(30):
        t0 = time.perf_counter()
        emb.encode_batch([f"how do I parse command line arguments, variant {i}"])
        q_times.append((time.perf_counter() - t0) * 1000)
    print(f"query embedding (uncached, one short question): p50 {pct(q_times, .5):.1f} ms "
          "(not included below)")
    print("search latency, top-5, synthetic random unit vectors inserted straight into Chroma:")
    for n in sizes:
        gid = workspace.create_group(start.person_id, f"bench search {n}").id
        t0 = time.perf_counter()
        fill_group(start.person_id, gid, n, rng)
        fill_s = time.perf_counter() - t0
        assert store.count(gid) == n
        queries = [f"synthetic question number {i}" for i in range(n_queries)]
        for q in queries:  # cache the query vectors: we time everything but the embedding
            vec = rng.standard_normal(384).astype(np.float32)
            vec /= np.linalg.norm(vec)
            embeddings.query_cache.put(" ".join(q.split()), vec, ttl=3600)
        for q in queries[:10]:  # warm up (collection load, HNSW pages)
            kb.search(start.person_id, gid, q, 5)
        chroma_ms, service_ms = [], []
        for q in queries:
            vec = embeddings.query_cache.get(q)
            t0 = time.perf_counter()
            store.query(gid, vec, 5)
            chroma_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            hits = kb.search(start.person_id, gid, q, 5)
            service_ms.append((time.perf_counter() - t0) * 1000)
            assert len(hits) == 5
        p50c, p50s = pct(chroma_ms, .5), pct(service_ms, .5)
        print(f"  {n:>7,} chunks (filled in {fill_s:5.1f} s): Chroma query p50 {p50c:5.2f} ms, "
              f"p95 {pct(chroma_ms, .95):5.2f} ms | knowledge.search p50 {p50s:5.2f} ms, "
              f"p95 {pct(service_ms, .95):5.2f} ms  (target p50 < 20 ms) "
              f"{'OK' if p50s < 20 else 'ABOVE TARGET'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", type=int, default=20)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="wb-bench-knowledge-")
    os.environ["WORKBENCH_DATA_DIR"] = tmp
    os.environ["WORKBENCH_SECRETS_FILE"] = str(Path(tmp) / "secrets.toml")
    os.environ.pop("DATABASE_URL", None)
    import logging

    logging.basicConfig(level=logging.WARNING)
    from workbench.system import bootstrap

    started = time.perf_counter()
    start = bootstrap.init_app()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"data dir {tmp}; onnxruntime intra-op threads 2; {os.cpu_count()} CPUs; "
          f"load average at start {load:.1f} (other processes slow every figure alike)")
    if not args.skip_ingest:
        bench_ingest(start, args.modules, args.rounds)
    bench_search(start, [int(x) for x in args.sizes.split(",") if x], args.queries)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
