"""Benchmark of collector.dedup: detection quality on a labelled set, and index speed.

Quality: real article texts (../shared/extraction/truth/*.txt, read in place) are the stored
originals. Positives are the same statements republished with one transformation each (new
title, added or removed intro paragraph, signature, 1/3/5% word edits, last paragraph cut, other
site's furniture left in, and a combination). Negatives are different statements of the same
topic (each text's nearest neighbour by TF-IDF cosine), given the same site's furniture,
introduction and signature on both sides, plus the real same-host pairs of the set, plus every
original queried against all others. Reported: precision and recall per transformation and
overall, a threshold sweep, and SimHash measured on the same set for comparison.

Speed: synthetic corpora of 10k and 100k texts (sentences of the real texts drawn at random,
real length distribution): signature time per text (own one-permutation MinHash and
datasketch's 128-permutation MinHash), index
rebuild from stored signatures, incremental add, lookup time, and peak memory of the index.

    .venv/bin/python bench/dedup.py                 # everything (about 5 minutes)
    .venv/bin/python bench/dedup.py --sizes 10000   # quicker speed section
    .venv/bin/python bench/dedup.py --no-speed      # quality only
    .venv/bin/python bench/dedup.py --compare-with /tmp/base --sizes 10000
                                                    # against another checkout, one run
    .venv/bin/python bench/dedup.py --compare-with /tmp/base --random-signatures \\
        --sizes 10000,100000                        # the indexes alone, at larger sizes
    .venv/bin/python bench/dedup.py --rss /tmp/base .   # memory of the first signature
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import pickle
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector import dedup, neardup

TRUTH = Path(__file__).resolve().parents[1] / ".." / "shared" / "extraction" / "truth"


@dataclass
class Doc:
    key: str
    url: str
    title: str
    blocks: list[str]
    furniture: list[str]


def load(truth: Path) -> list[Doc]:
    docs = []
    for txt in sorted(truth.glob("*.txt")):
        meta = json.loads(txt.with_suffix(".json").read_text(encoding="utf-8"))
        blocks = [b.strip() for b in re.split(r"\n\s*\n", txt.read_text(encoding="utf-8"))]
        blocks = [" ".join(b.split()) for b in blocks if b]
        if not blocks:
            continue
        docs.append(Doc(txt.stem, meta.get("url", ""), meta.get("title") or blocks[0], blocks,
                        list(meta.get("without", []))))
    return docs


# --- transformations ----------------------------------------------------------------------

ORGS = ["the International Federation of Transport Workers", "Section Nord",
        "the Regional Council of Unions", "Amis de la Terre Belgique", "the Press Office",
        "Solidarity Network East", "the European Secretariat", "Our Lisbon chapter"]
INTROS = [
    "{org} republishes below the statement issued on {date}. We share it in full because its "
    "demands concern our members as well, and we invite every branch to circulate it widely.",
    "The following text was adopted by {org} and is reproduced here with permission. Our own "
    "comments will follow in a separate note once the executive committee has met.",
    "We are publishing this statement from {org}, first released on {date}, as part of our "
    "coverage. Readers who want to support the campaign can find contact details at the end.",
    "Statement reproduced from {org} ({date}). Translation and formatting are ours; any errors "
    "introduced are our responsibility and not that of the original authors.",
]
SIGNATURES = [
    ["Issued by {org}", "{city}, {date}"],
    ["For more information contact press@example.org", "— {org}"],
    ["Signed on behalf of {org} by the General Secretary", "Ends"],
    ["{city}, {date}"],
]
CITIES = ["Brussels", "Lisbon", "Hamburg", "Lyon", "Toronto", "Nairobi", "Manila", "Quito"]
GENERIC_FURNITURE = ["Share this article", "Tweet", "Print", "Subscribe to our newsletter and "
                     "get the latest statements straight to your inbox.", "Related articles",
                     "You may also like", "© 2025 All rights reserved.", "Cookie settings",
                     "Back to top", "Read more", "Donate now", "Follow us on Mastodon"]


def fill(text: str, rng: random.Random) -> str:
    return text.format(org=rng.choice(ORGS), city=rng.choice(CITIES),
                       date=f"{rng.randint(1, 28)} {rng.choice(['March', 'May', 'June'])} 2025")


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + word[-1:]
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def edit_words(blocks: list[str], rate: float, vocab: list[str],
               rng: random.Random) -> list[str]:
    """Edit about `rate` of the words: substitute, delete, insert or misspell, evenly."""
    out = []
    for block in blocks:
        new: list[str] = []
        for w in block.split(" "):
            if rng.random() >= rate:
                new.append(w)
                continue
            op = rng.randrange(4)
            if op == 0:
                new.append(rng.choice(vocab))
            elif op == 1:
                pass
            elif op == 2:
                new.extend([w, rng.choice(vocab)])
            else:
                new.append(typo(w, rng))
        if new:
            out.append(" ".join(new))
    return out


def furniture_of(other: Doc, docs: list[Doc], rng: random.Random) -> tuple[list[str], list[str]]:
    """Another site's furniture: its real nav/footer strings plus generic share/related boxes."""
    head = other.furniture[: len(other.furniture) // 2] + rng.sample(GENERIC_FURNITURE, 3)
    related = ["Related: " + d.title for d in rng.sample(docs, 3)]
    tail = other.furniture[len(other.furniture) // 2:] + related + rng.sample(GENERIC_FURNITURE, 3)
    return head, tail


def transform(kind: str, doc: Doc, docs: list[Doc], vocab: list[str],
              rng: random.Random) -> tuple[str, list[str]]:
    b = list(doc.blocks)
    title = doc.title
    if kind == "new_title":
        title = "Statement: " + rng.choice(docs).title
    elif kind == "add_intro":
        b = [fill(rng.choice(INTROS), rng), *b]
    elif kind == "remove_intro":
        b = b[1:] if len(b) > 1 else b
    elif kind == "signature":
        b = b + [fill(line, rng) for line in rng.choice(SIGNATURES)]
    elif kind.startswith("edits_"):
        b = edit_words(b, int(kind.split("_")[1]) / 100, vocab, rng)
    elif kind == "truncate_last":
        if len(b) > 1:
            b = b[:-1]
        else:
            w = b[0].split()
            b = [" ".join(w[: int(len(w) * 0.8)])]
    elif kind == "boilerplate":
        head, tail = furniture_of(rng.choice(docs), docs, rng)
        b = head + b + tail
    elif kind == "combined":
        title = "Statement: " + doc.title
        b = edit_words(b, 0.02, vocab, rng)
        b = [fill(rng.choice(INTROS), rng), *b, *[fill(x, rng) for x in rng.choice(SIGNATURES)]]
    elif kind == "combined_heavy":
        title = "Statement: " + doc.title
        head, tail = furniture_of(rng.choice(docs), docs, rng)
        b = edit_words(b[:-1] if len(b) > 2 else b, 0.05, vocab, rng)
        b = [*head, fill(rng.choice(INTROS), rng), *b,
             *[fill(x, rng) for x in rng.choice(SIGNATURES)], *tail]
    else:
        raise ValueError(kind)
    return title, b


KINDS = ["new_title", "add_intro", "remove_intro", "signature", "edits_1", "edits_3", "edits_5",
         "truncate_last", "boilerplate", "combined", "combined_heavy"]


# --- negatives ----------------------------------------------------------------------------


def same_page_groups(docs: list[Doc]) -> list[int]:
    """Group number of each text: texts whose URLs share a `url_key` are one page captured
    twice (the set holds such a pair), so they are neither negatives nor wrong answers."""
    keys: dict[str, int] = {}
    out = []
    for i, d in enumerate(docs):
        try:
            key = dedup.url_key(d.url)
        except Exception:
            key = f"#{i}"
        out.append(keys.setdefault(key, i))
    return out


def nearest_by_topic(docs: list[Doc], group: list[int]) -> list[int]:
    """Index of each text's most similar other page (TF-IDF cosine over its words)."""
    toks = [Counter(w for b in d.blocks for w in dedup.words(b)) for d in docs]
    df = Counter(w for t in toks for w in t)
    vocab = {w: i for i, (w, n) in enumerate(df.most_common(30000)) if n > 1}
    mat = np.zeros((len(docs), len(vocab)), dtype=np.float32)
    for r, t in enumerate(toks):
        for w, n in t.items():
            c = vocab.get(w)
            if c is not None:
                mat[r, c] = (1 + math.log(n)) * math.log(len(docs) / df[w])
    mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9
    sims = mat @ mat.T
    same = np.array(group)[:, None] == np.array(group)[None, :]
    sims[same] = -1
    return sims.argmax(axis=1).tolist()


def site_dress(doc: Doc, site: tuple[list[str], list[str], str, list[str]]) -> list[str]:
    head, tail, intro, sig = site
    return [*head, intro, *doc.blocks, *sig, *tail]


# --- quality ------------------------------------------------------------------------------


class Detector:
    """Exact fingerprints first, then the near-duplicate index, as the pipeline will do."""

    def __init__(self, threshold: float):
        self.by_hash: dict[str, int] = {}
        self.index = dedup.NearDuplicateIndex(threshold)

    def add(self, doc_id: int, title: str, blocks: list[str]) -> None:
        self.by_hash.setdefault(dedup.content_fingerprint(title, blocks), doc_id)
        self.index.add(doc_id, dedup.signature(blocks))

    def match(self, title: str, blocks: list[str]) -> list[tuple[int, float]]:
        hit = self.by_hash.get(dedup.content_fingerprint(title, blocks))
        if hit is not None:
            return [(hit, 1.0)]
        return self.index.query(dedup.signature(blocks))


def top_at(matches: list[tuple[int, float]], threshold: float) -> int | None:
    for doc_id, sim in matches:
        if sim >= threshold:
            return doc_id
    return None


def simhash64(blocks: list[str]) -> int:
    sh = np.array(dedup.shingle_hashes([w for b in blocks for w in dedup.words(b)]),
                  dtype=np.uint64)
    bits = np.unpackbits(sh.view(np.uint8).reshape(-1, 8), axis=1)  # n x 64
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(sh)
    packed = np.packbits((votes > 0).astype(np.uint8))
    return int.from_bytes(packed.tobytes(), "big")


def quality(docs: list[Doc], seed: int) -> dict:
    rng = random.Random(seed)
    vocab = sorted({w for d in docs for b in d.blocks for w in b.split(" ") if w.isalpha()})
    sweep = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7]
    group = same_page_groups(docs)
    det = Detector(threshold=min(sweep))
    for i, d in enumerate(docs):
        det.add(i, d.title, d.blocks)

    sigs = [dedup.signature(d.blocks) for d in docs]
    sims: dict[str, list[float]] = {}
    # Positives: (kind, expected id, matches)
    pos: list[tuple[str, int, list[tuple[int, float]]]] = []
    simhash_pos: list[tuple[str, int, int]] = []
    for kind in KINDS:
        for i, d in enumerate(docs):
            title, blocks = transform(kind, d, docs, vocab, rng)
            pos.append((kind, i, det.match(title, blocks)))
            sims.setdefault(kind, []).append(
                dedup.similarity(sigs[i], dedup.signature(blocks)))
            simhash_pos.append((kind, i, simhash64(blocks)))

    # Negatives: each (name, matches against the stored originals or a pair)
    neg: list[tuple[str, list[tuple[int, float]]]] = []
    # 1. every original against all the others (the stored corpus must not collapse)
    for i, d in enumerate(docs):
        ms = [(j, s) for j, s in det.index.query(dedup.signature(d.blocks))
              if group[j] != group[i]]
        neg.append(("corpus_all_pairs", ms))
    # 2. same topic, same site: nearest neighbour, both dressed in one site's furniture
    near = nearest_by_topic(docs, group)
    for i, d in enumerate(docs):
        other = docs[near[i]]
        head, tail = furniture_of(rng.choice(docs), docs, rng)
        site = (head, tail, fill(rng.choice(INTROS), rng),
                [fill(x, rng) for x in rng.choice(SIGNATURES)])
        pair = Detector(threshold=min(sweep))
        pair.add(0, d.title, site_dress(d, site))
        sims.setdefault("negative: same_topic_same_site", []).append(dedup.similarity(
            dedup.signature(site_dress(d, site)), dedup.signature(site_dress(other, site))))
        neg.append(("same_topic_same_site", pair.match(other.title, site_dress(other, site))))
    # 3. the real same-host pairs of the set
    hosts: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        host = re.sub(r"^https?://(www\.)?", "", d.url).split("/")[0]
        hosts.setdefault(host, []).append(i)
    for members in hosts.values():
        for a in members:
            for b in members:
                if a < b and group[a] != group[b]:
                    ms = [(j, s) for j, s in det.match(docs[b].title, docs[b].blocks) if j == a]
                    neg.append(("same_host_real", ms))

    def score(threshold: float) -> dict:
        per: dict[str, dict] = {}
        tp = fp = fn = 0
        for kind, want, ms in pos:
            got = top_at(ms, threshold)
            row = per.setdefault(kind, {"n": 0, "tp": 0, "fp": 0})
            row["n"] += 1
            if got is not None and group[got] == group[want]:
                row["tp"] += 1
                tp += 1
            else:
                fn += 1
                if got is not None:
                    row["fp"] += 1
                    fp += 1
        negs: dict[str, dict] = {}
        for name, ms in neg:
            row = negs.setdefault(name, {"n": 0, "fp": 0})
            row["n"] += 1
            if top_at(ms, threshold) is not None:
                row["fp"] += 1
                fp += 1
        for row in per.values():
            row["precision"] = row["tp"] / max(1, row["tp"] + row["fp"])
            row["recall"] = row["tp"] / row["n"]
        return {"threshold": threshold, "precision": tp / max(1, tp + fp),
                "recall": tp / (tp + fn), "tp": tp, "fp": fp, "fn": fn,
                "per_kind": per, "negatives": negs}

    result = {"documents": len(docs), "chosen": score(dedup.NEAR_DUP_THRESHOLD),
              "sweep": [score(t) for t in sweep],
              "similarity": {k: {q: float(np.quantile(v, f)) for q, f in
                                 (("min", 0), ("p1", 0.01), ("p5", 0.05), ("median", 0.5),
                                  ("p99", 0.99), ("max", 1))}
                             for k, v in sims.items()}}

    # SimHash on the same shingles, brute force (no index): best Hamming threshold.
    orig = np.array([simhash64(d.blocks) for d in docs], dtype=np.uint64)
    sim_rows = []
    for k in (3, 6, 10, 14):
        tp = fp = 0
        for _, want, h in simhash_pos:
            dist = np.array([(int(o) ^ h).bit_count() for o in orig])
            best = int(dist.argmin())
            if dist[best] <= k:
                tp += group[best] == group[want]
                fp += group[best] != group[want]
        nfp = 0
        for i in range(len(docs)):
            dist = np.array([(int(o) ^ int(orig[i])).bit_count() for o in orig])
            dist[np.array(group) == group[i]] = 99
            nfp += int(dist.min() <= k)
        sim_rows.append({"max_hamming": k, "precision": tp / max(1, tp + fp + nfp),
                         "recall": tp / len(simhash_pos)})
    result["simhash"] = sim_rows
    return result


# --- speed --------------------------------------------------------------------------------


def synthetic(docs: list[Doc], n: int, seed: int):
    """Yield `n` texts of real lengths made of real sentences drawn at random."""
    rng = random.Random(seed)
    sentences = [s for d in docs for b in d.blocks for s in re.split(r"(?<=[.!?])\s+", b)
                 if len(s.split()) >= 4]
    counts = [len(s.split()) for s in sentences]
    lengths = [sum(len(b.split()) for b in d.blocks) for d in docs]
    for _ in range(n):
        target = rng.choice(lengths)
        blocks, words, para = [], 0, []
        while words < target:
            i = rng.randrange(len(sentences))
            para.append(sentences[i])
            words += counts[i]
            if len(para) >= 4:
                blocks.append(" ".join(para))
                para = []
        if para:
            blocks.append(" ".join(para))
        yield blocks


def _sign_chunk(args: tuple[Path, int, int, int, int]
                ) -> tuple[list[bytes], list[tuple[int, bytes]], float]:
    """Worker: sign `count` synthetic texts (seeded by chunk); also 3%-edited probe copies of
    every `probe_every`-th one, with their position in the whole corpus."""
    truth, start, count, seed, probe_every = args
    docs = load(truth)
    vocab = sorted({w for d in docs for b in d.blocks for w in b.split(" ") if w.isalpha()})
    rng = random.Random(seed)
    sigs, probes, spent = [], [], 0.0
    for i, blocks in enumerate(synthetic(docs, count, seed)):
        t0 = time.process_time()
        sigs.append(dedup.signature(blocks))
        spent += time.process_time() - t0
        if (start + i) % probe_every == 0:
            probes.append((start + i, dedup.signature(edit_words(blocks, 0.03, vocab, rng))))
    return sigs, probes, spent


def speed(docs: list[Doc], truth: Path, sizes: list[int], seed: int,
          cache: Path | None = None) -> list[dict]:
    from datasketch import MinHash

    out = []
    # Signature cost per text: own MinHash versus datasketch on the same shingle strings.
    # CPU time, not wall time: the comparison is then less disturbed by other load.
    sample = [d.blocks for d in docs]
    t0 = time.process_time()
    for b in sample:
        dedup.signature(b)
    own_ms = (time.process_time() - t0) / len(sample) * 1000
    t0 = time.process_time()
    for b in sample:
        w = [x for blk in b for x in dedup.words(blk)]
        m = MinHash(num_perm=dedup.NUM_PERM)
        m.update_batch([" ".join(w[i:i + 3]).encode() for i in range(max(1, len(w) - 2))])
        bytes(m.hashvalues.astype("<u4"))
    ds_ms = (time.process_time() - t0) / len(sample) * 1000
    out.append({"signature_ms_own": own_ms, "signature_ms_datasketch": ds_ms})

    biggest = max(sizes)
    workers = max(1, min(4, os.cpu_count() or 1))
    chunk = math.ceil(biggest / (workers * 4))
    jobs = [(truth, start, min(chunk, biggest - start), seed * 1000 + k, 97)
            for k, start in enumerate(range(0, biggest, chunk))]
    sigs: list[bytes] = []
    probe_all: list[tuple[int, bytes]] = []
    spent = 0.0
    spent_now = False
    t0 = time.perf_counter()
    if cache and cache.exists():
        saved = pickle.loads(cache.read_bytes())
        sigs, probe_all, spent = saved["sigs"][:biggest], saved["probes"], saved["cpu"]
    else:
        spent_now = True
        with multiprocessing.Pool(workers) as pool:
            for part, probes, cpu in pool.imap(_sign_chunk, jobs):
                sigs.extend(part)
                probe_all.extend(probes)
                spent += cpu
        if cache:
            cache.write_bytes(pickle.dumps({"sigs": sigs, "probes": probe_all, "cpu": spent}))
    out.append({"synthetic_texts": biggest,
                "generate_and_sign_wall_s": "cached" if cache and cache.exists() and
                not spent_now else time.perf_counter() - t0,
                "workers": workers, "signature_cpu_ms_per_text": spent / biggest * 1000})
    # Probes: 3%-edited copies of texts in the smallest corpus, so every size holds them.
    smallest = min(sizes)
    probe_sigs = [sig for pos, sig in probe_all if pos < smallest][:500]
    fresh = [dedup.signature(b) for b in synthetic(docs, 500, seed + 1)]

    for n in sizes:
        # Memory first, in a build of its own: tracemalloc slows allocation, so the timed
        # build below runs without it.
        tracemalloc.start()
        index = dedup.NearDuplicateIndex()
        index.add_many(enumerate(sigs[:n]))
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del index
        t0 = time.perf_counter()
        index = dedup.NearDuplicateIndex()
        index.add_many(enumerate(sigs[:n]))
        rebuild_s = time.perf_counter() - t0
        # Incremental adds (the pipeline path), measured on a copy grown one by one.
        inc = dedup.NearDuplicateIndex()
        t0 = time.perf_counter()
        for i in range(n):
            inc.add(i, sigs[i])
        add_s = time.perf_counter() - t0
        # Each lookup is timed three times and its fastest run kept: the machine's other load
        # then disturbs the comparison between sizes less.
        times, hits = _lookup_times(index, probe_sigs + fresh)
        out.append({
            "documents": n, "rebuild_s": rebuild_s, "rebuild_per_s": n / rebuild_s,
            "rebuild_peak_mib": peak / 2**20, "index_mib": held / 2**20,
            "incremental_add_us": add_s / n * 1e6,
            "lookup_us_mean": statistics.mean(times) * 1e6,
            "lookup_us_p50": times[len(times) // 2] * 1e6,
            "lookup_us_p99": times[int(len(times) * 0.99)] * 1e6,
            "probes_matched": f"{hits}/{len(times)} (first {len(probe_sigs)} are 3%-edited "
                              "copies of indexed texts)",
        })
        del index, inc
    out.append({"max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    return out


def _lookup_times(index, probes: list[bytes]) -> tuple[list[float], int]:
    """Each probe's best of three lookup times (seconds, sorted) and how many found a match."""
    times = []
    hits = 0
    for q in probes:
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            res = index.query(q)
            best = min(best, time.perf_counter() - t0)
        times.append(best)
        hits += bool(res)
    times.sort()
    return times, hits


def load_peer(tree: Path):
    """collector.neardup of another checkout (the commit before a change, say), loaded beside
    this one under another name, so that both are measured in one process and one run."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "peer_neardup", tree / "collector" / "neardup.py")
    if spec is None or spec.loader is None:
        sys.exit(f"no collector/neardup.py under {tree}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _index_figures(mod, sigs: list[bytes], probes: list[bytes]) -> dict:
    tracemalloc.start()
    index = mod.NearDuplicateIndex()
    index.add_many(list(enumerate(sigs)))
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    t0 = time.process_time()
    index = mod.NearDuplicateIndex()
    index.add_many(list(enumerate(sigs)))
    build = time.process_time() - t0
    inc = mod.NearDuplicateIndex()
    t0 = time.process_time()
    for i, sig in enumerate(sigs[:20000]):
        inc.add(i, sig)
    add = (time.process_time() - t0) / min(len(sigs), 20000)
    del inc
    times, hits = _lookup_times(index, probes)
    # the same answers from two checkouts of one signature version give the same digest
    answers = hashlib.sha256(repr([index.query(p) for p in probes]).encode()).hexdigest()
    return {"documents": len(sigs), "build_cpu_s": build,
            "index_bytes_per_doc": held / len(sigs), "build_peak_bytes_per_doc": peak / len(sigs),
            "add_cpu_us": add * 1e6, "lookup_us_mean": statistics.mean(times) * 1e6,
            "lookup_us_p50": times[len(times) // 2] * 1e6, "probes_matched": hits,
            "answers_digest": answers[:16]}


def compare_random(peer_tree: Path, sizes: list[int], seed: int) -> list[str]:
    """The two indexes at sizes where signing real-like texts twice would take too long:
    signatures of random values (what unrelated texts give: every band key distinct), each
    in its implementation's format; probes are 100 indexed signatures and 300 others."""
    import struct

    peer = load_peer(peer_tree)
    out = []
    for n in sizes:
        rows = {}
        for name, mod in (("peer", peer), ("this", neardup)):
            rng = random.Random(seed)
            head = struct.pack("<2sBBHI", b"MH", mod._VERSION, 0, mod.NUM_PERM, 500)
            sigs = [head + rng.randbytes(4 * mod.NUM_PERM) for _ in range(n)]
            probes = sigs[:: max(1, n // 100)][:100] + [
                head + rng.randbytes(4 * mod.NUM_PERM) for _ in range(300)]
            rows[name] = _index_figures(mod, sigs, probes)
            del sigs
        out += _ratios(n, rows)
    return out


def _ratios(n: int, rows: dict[str, dict]) -> list[str]:
    out = []
    for key in rows["peer"]:
        a, b = rows["peer"][key], rows["this"][key]
        if isinstance(a, float):
            out.append(f"{n:>7} {key:<26} peer {a:>12.2f}  this {b:>12.2f}  ratio "
                       f"{b / a if a else math.nan:.2f}")
        else:
            out.append(f"{n:>7} {key:<26} peer {a}  this {b}")
    return out


def compare(docs: list[Doc], peer_tree: Path, sizes: list[int], seed: int) -> list[str]:
    """This checkout's neardup against `peer_tree`'s in one process: signature CPU time on the
    real texts (interleaved rounds, best of each), then on `sizes` synthetic texts each
    signs its own corpus and builds, extends and queries its own index (probes: 3%-edited
    copies of indexed texts and texts not indexed)."""
    peer = load_peer(peer_tree)
    mine = dedup
    out = []
    sample = [d.blocks for d in docs]
    best = {"peer": math.inf, "this": math.inf}
    for _ in range(3):
        for name, mod in (("peer", peer), ("this", mine)):
            t0 = time.process_time()
            for b in sample:
                mod.signature(b)
            best[name] = min(best[name], (time.process_time() - t0) / len(sample) * 1000)
    out.append(f"signature CPU ms per real text ({len(sample)} texts, best of 3): peer "
               f"{best['peer']:.3f}, this {best['this']:.3f}, "
               f"ratio {best['this'] / best['peer']:.2f}")
    rng = random.Random(seed)
    vocab = sorted({w for d in docs for b in d.blocks for w in b.split(" ") if w.isalpha()})
    for n in sizes:
        texts = list(synthetic(docs, n, seed))
        probe_texts = [edit_words(texts[i], 0.03, vocab, rng)
                       for i in range(0, n, max(1, n // 100))]
        probe_texts += list(synthetic(docs, 300, seed + 1))
        rows = {}
        for name, mod in (("peer", peer), ("this", mine)):
            t0 = time.process_time()
            sigs = [mod.signature(t) for t in texts]
            sign_ms = (time.process_time() - t0) / n * 1000
            rows[name] = {"sign_cpu_ms": sign_ms,
                          **_index_figures(mod, sigs, [mod.signature(t) for t in probe_texts])}
            del sigs
        out += _ratios(n, rows)
    return out


#: Run in a child with a checkout first on its path: the resident set after the poll's
#: imports, after the first signature, and after an index of 1,000 documents was built.
_RSS_CHILD = """
import random, sys
def rss():
    with open("/proc/self/status") as f:
        d = dict(line.split(":", 1) for line in f)
    return float(d["VmRSS"].split()[0]) / 1024, float(d["VmHWM"].split()[0]) / 1024
import collector.cli, collector.pipeline, collector.storing, collector.scheduler
from collector import dedup, neardup
print(f"  poll's imports   VmRSS {rss()[0]:6.1f} MB")
text = open(sys.argv[1], encoding="utf-8").read()
sig = dedup.fingerprints("t", [text])[1]
print(f"  one signature    VmRSS {rss()[0]:6.1f} MB  (numpy loaded: {'numpy' in sys.modules})")
rng = random.Random(1)
words = [f"w{i}" for i in range(5000)]
index = dedup.NearDuplicateIndex()
index.add_many((i, dedup.signature([" ".join(rng.choice(words) for _ in range(300))]))
               for i in range(1000))
index.query(sig)
print("  index of 1,000   VmRSS {:6.1f} MB  VmHWM {:6.1f} MB".format(*rss()))
"""


def rss_of(trees: list[Path], truth: Path) -> None:
    """The resident memory of a process that imports what a poll imports and makes one
    signature, for each checkout (each child has only that checkout's collector)."""
    text = sorted(truth.glob("*.txt"))[0]
    for tree in trees:
        print(f"{tree}:", flush=True)
        env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
        subprocess.run([sys.executable, "-c", _RSS_CHILD, str(text)], cwd=tree, env=env,
                       check=True, timeout=300)


def report(q: dict | None, s: list[dict] | None) -> None:
    if q:
        c = q["chosen"]
        print(f"\n== quality: {q['documents']} originals, threshold {c['threshold']}, "
              f"shingles {dedup.SHINGLE_WORDS} words, {dedup.NUM_PERM} perms, "
              f"{dedup.LSH_BANDS}x{dedup.LSH_ROWS} bands")
        print(f"overall precision {c['precision']:.4f} recall {c['recall']:.4f} "
              f"(tp {c['tp']}, fp {c['fp']}, fn {c['fn']})")
        print(f"{'transformation':<16}{'n':>6}{'precision':>11}{'recall':>9}")
        for kind, row in c["per_kind"].items():
            print(f"{kind:<16}{row['n']:>6}{row['precision']:>11.4f}{row['recall']:>9.4f}")
        print(f"{'negative set':<22}{'n':>6}{'false matches':>15}")
        for name, row in c["negatives"].items():
            print(f"{name:<22}{row['n']:>6}{row['fp']:>15}")
        print("estimated similarity to the original (min p1 p5 median p99 max):")
        for kind, row in q["similarity"].items():
            print(f"  {kind:<32}" + " ".join(f"{v:.2f}" for v in row.values()))
        print("threshold sweep (precision / recall):")
        for row in q["sweep"]:
            print(f"  {row['threshold']:.2f}: {row['precision']:.4f} / {row['recall']:.4f}")
        print("SimHash 64-bit, same shingles, brute force (precision / recall):")
        for row in q["simhash"]:
            print(f"  hamming <= {row['max_hamming']:>2}: {row['precision']:.4f} / "
                  f"{row['recall']:.4f}")
    if s:
        print("\n== speed")
        for row in s:
            print("  " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in row.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, default=TRUTH)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--random-signatures", action="store_true",
                    help="with --compare-with: compare the indexes only, over signatures of "
                         "random values (fast at 100k and more)")
    ap.add_argument("--rss", type=Path, nargs="+", metavar="TREE",
                    help="only print the resident memory of a process that imports the poll's "
                         "modules and makes one signature, for each checkout")
    ap.add_argument("--compare-with", type=Path, metavar="TREE",
                    help="only compare this checkout's signatures and index with those of "
                         "another checkout in one run (CPU time, memory), on --sizes texts")
    ap.add_argument("--sig-cache", type=Path,
                    help="keep the synthetic signatures in this file (outside the repository) "
                         "and reuse them on the next run")
    args = ap.parse_args()
    if args.rss:
        rss_of(args.rss, args.truth)
        return
    docs = load(args.truth)
    if not docs:
        sys.exit(f"no texts under {args.truth}")
    if args.compare_with:
        sizes = [int(x) for x in args.sizes.split(",")]
        lines = (compare_random(args.compare_with, sizes, args.seed)
                 if args.random_signatures else
                 compare(docs, args.compare_with, sizes, args.seed))
        for line in lines:
            print(line, flush=True)
        return
    q = None if args.no_quality else quality(docs, args.seed)
    if q:
        report(q, None)
    s = None if args.no_speed else speed(docs, args.truth, [int(x) for x in args.sizes.split(",")],
                                         args.seed, args.sig_cache)
    if s:
        report(None, s)
    if args.json:
        args.json.write_text(json.dumps({"quality": q, "speed": s}, indent=1))


if __name__ == "__main__":
    main()
