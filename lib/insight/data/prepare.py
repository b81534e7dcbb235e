"""Prepare a study's data once: load, map, validate, restrict, pseudonymise, cache as Parquet.

    prepared = prepare_study_data(params, project)
    prepared.tables["orders"]  -> Path of the canonical, validated, pseudonymised Parquet file

Sources: the generated demo company (`data.demo`), and/or the user's exports (`data.tables`; a
table given there replaces the demo's): files, or tables and queries on a database
(insight.data.sources), and/or qualitative material named under `data.qual` (a
REFI-QDA .qdpx project and/or a folder of transcripts, read into participants, qual_sources,
codebook and coded_segments by insight.qual.importers). Every problem in every table is collected and raised at
once as DataError before anything is written. Soft problems are `warnings`.

Survey responses and the qualitative tables are restricted to the study period (the study's own
fieldwork): survey responses by `started_at`, qualitative sources by `date`, coded segments with
their sources. Transactional tables (customers, orders, interactions, usage...) keep their full
history, which the analyses need.

The cache lives in <project>/.cache/studies/<study>/<fingerprint>/ (tables as Parquet plus
manifest.json). It is written into a temporary folder and renamed into place, under a file lock,
so parallel notebooks never see half a cache and a failed run leaves nothing behind. The
fingerprint covers the data files' contents (for a database source: its row count and checksum,
see insight.data.sources), the data spec, the study period, the source of the data layer (and of
the demo generator for the demo), and the identity of the pseudonymisation key; unchanged inputs
reuse the cache.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from insight.config import Params
from insight.data import pii
from insight.config.data import QUAL_TABLES
from insight.data.loaders import ROW, Loaded, qual_files, read_qual, read_source, read_table
from insight.data.mapping import map_table
from insight.data.problems import DataError
from insight.data.schema import TABLES
from insight.data.validate import check_references, missing_warnings, validate_table
from insight.params import Problem
from insight import safety
from insight.paths import PACKAGE_DIR, Project
from insight.speedups import isin

FORMAT_VERSION = 1
RESTRICTED = {"survey_responses": "started_at", "qual_sources": "date"}
KEEP_CACHES = 3


@dataclass
class Prepared:
    tables: dict[str, Path]
    warnings: list[Problem] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    personal: dict[str, dict] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    details: dict[str, list[str]] = field(default_factory=dict)   # how each table was read and mapped
    profile: dict[str, dict] = field(default_factory=dict)        # period, customers, missing values
    fingerprint: str = ""
    notes: list[str] = field(default_factory=list)
    checksums: dict[str, list] = field(default_factory=dict)     # table -> [bytes, blake2b] of its Parquet file

    def to_json(self) -> dict:
        d = asdict(self)
        d["tables"] = {k: v.name for k, v in self.tables.items()}
        return d

    @classmethod
    def from_json(cls, d: dict, folder: Path) -> "Prepared":
        d = dict(d)
        d["tables"] = {k: folder / v for k, v in d["tables"].items()}
        d["warnings"] = [Problem(**w) for w in d["warnings"]]
        return cls(**d)


# --- fingerprints -------------------------------------------------------------------------------

_FILE_HASHES: dict[tuple, str] = {}


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    """blake2b of the file's bytes (memoised on path, size and modification time)."""
    st = path.stat()
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo in _FILE_HASHES:
        return _FILE_HASHES[memo]
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    _FILE_HASHES[memo] = h.hexdigest()
    return _FILE_HASHES[memo]


def _code_hash(folder: Path, skip: tuple[str, ...] = ()) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(folder.glob("*.py")):
        if p.name in skip:
            continue
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _demo_id(params: Params) -> str:
    demo = params.data.demo
    return json.dumps({"scale": demo.scale, "seed": demo.seed, "code": _code_hash(PACKAGE_DIR / "demo")},
                      sort_keys=True)


def _fingerprints(params: Params, project: Project, key: bytes | None = None) -> tuple[str, dict[str, str]]:
    """(whole fingerprint, per-table fingerprints of the tables named in params.data.tables)."""
    key = pii.load_key(project) if key is None else key
    common = json.dumps({
        "format": FORMAT_VERSION,
        "data_code": _code_hash(PACKAGE_DIR / "data", skip=("engine.py",)),   # the engine reads tables, never writes them
        "key": pii.key_id(key),
        "personal": params.data.personal_columns,
        "segments": params.data.segments,
        "missing_warning": params.data.missing_warning,
        "period": [str(params.study.period.start), str(params.study.period.end)],
    }, sort_keys=True)
    per: dict[str, str] = {}
    whole = hashlib.blake2b(digest_size=10)
    whole.update(common.encode())
    survey = _questionnaire_id(params, project)   # survey responses are checked against it
    whole.update(survey.encode())
    if params.data.demo is not None:
        whole.update(_demo_id(params).encode())
    indicators = _source_indicators(params, project)
    for name, spec in sorted(params.data.tables.items()):
        if spec.source is not None:
            content = indicators[name]
        else:
            path = project.resolve(spec.path)
            content = file_hash(path) if path.is_file() else "missing"
        h = hashlib.blake2b(digest_size=10)
        h.update(common.encode())
        h.update(content.encode())
        h.update(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode())
        if name == "survey_responses":
            h.update(survey.encode())
        per[name] = h.hexdigest()
        whole.update(f"{name}:{per[name]}".encode())
    if params.data.qual is not None:
        h = hashlib.blake2b(digest_size=10)
        h.update(common.encode())
        h.update(json.dumps(params.data.qual.model_dump(mode="json"), sort_keys=True).encode())
        for path in qual_files(params.data.qual, project):
            h.update(f"{path.name}:{file_hash(path) if path.is_file() else 'missing'}".encode())
        per["qual"] = h.hexdigest()
        whole.update(f"qual:{per['qual']}".encode())
    return whole.hexdigest(), per


def _questionnaire_id(params: Params, project: Project) -> str:
    from insight.survey.questionnaire import questionnaire_files

    path = project.resolve(params.survey.questionnaire)
    parts = [params.survey.out_of_range]
    for p in questionnaire_files(path):
        parts.append(f"{p.name}:{file_hash(p) if p.is_file() else 'missing'}")
    return json.dumps(parts)


def _source_indicators(params: Params, project: Project) -> dict[str, str]:
    """Change indicator of each database source (insight.data.sources.change_indicator), checked on the
    server; raises DataError naming every source that cannot be reached or read. Inside a notebook
    that `make report` started (INSIGHT_NOTEBOOK is set), the indicators the run checked at its start
    are reused (sources.json in the study cache), so the kernels do not scan the sources again."""
    specs = {name: spec for name, spec in params.data.tables.items() if spec.source is not None}
    if not specs:
        return {}
    from insight.data import sources

    state_file = project.study_cache(params.study.name) / "sources.json"
    refresh = "INSIGHT_NOTEBOOK" not in os.environ
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    out: dict[str, str] = {}
    errors: list[Problem] = []
    for name, spec in specs.items():
        key = sources.source_key(spec.source)
        if not refresh and key in state:
            out[name] = state[key]
            continue
        try:
            out[name] = state[key] = sources.change_indicator(spec.source, project)
        except sources.SourceProblem as exc:
            errors.append(sources.problem_for(name, spec.source, exc))
    if errors:
        raise DataError(errors)
    if refresh:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_file.with_name(f".sources-{os.getpid()}.json")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, state_file)
    return out


def data_fingerprint(params: Params, project: Project | None = None) -> str:
    """Cheap content fingerprint of a study's data inputs (does not load the data)."""
    project = project or Project.find()
    return _fingerprints(params, project)[0]


# --- the cache ----------------------------------------------------------------------------------

@contextlib.contextmanager
def _lock(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_cache(folder: Path, verify: bool = False) -> Prepared | None:
    """The cached preparation in `folder`, or None when it is absent or damaged (a garbage manifest,
    a missing or truncated Parquet file; with `verify`, any byte changed): it is then rebuilt."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        prepared = Prepared.from_json(json.loads(manifest.read_text(encoding="utf-8")), folder)
        for name, p in prepared.tables.items():
            size, digest = prepared.checksums[name]
            if p.stat().st_size != size or (verify and file_hash(p) != digest):
                return None
            with open(p, "rb") as fh:   # a Parquet file starts and ends with its magic bytes
                head = fh.read(4)
                fh.seek(-4, os.SEEK_END)
                if head != b"PAR1" or fh.read(4) != b"PAR1":
                    return None
    except Exception:  # noqa: BLE001 - whatever is wrong with a cache entry, it is rebuilt, never trusted
        return None
    return prepared


def prepare_study_data(params: Params, project: Project | None = None, *, force: bool = False,
                       verify: bool = False, workers: int | None = None) -> Prepared:
    """The study's canonical tables as Parquet files (built once per data fingerprint). A damaged cache
    entry is rebuilt; `verify` (the runner, once per run) also checks every byte against its hash.
    `workers`: processes that prepare tables at once (build; `make report JOBS=n` passes n)."""
    project = project or Project.find()
    key = pii.load_key(project)
    fp, per = _fingerprints(params, project, key)
    root = project.study_cache(params.study.name)
    final = root / fp
    if not force and (cached := _read_cache(final, verify)) is not None:
        return cached
    with _lock(root / f".{fp}.lock"):
        if not force and (cached := _read_cache(final, verify)) is not None:
            return cached
        tmp = root / f".tmp-{fp}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:   # the tables are written into tmp as they are ready; any error leaves nothing behind
            prepared = build(params, project, key, fp, per, folder=tmp, workers=workers)
            (tmp / "manifest.json").write_text(json.dumps(prepared.to_json(), indent=1, default=str), encoding="utf-8")
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _prune(root, keep=final)
    out = _read_cache(final)
    assert out is not None
    return out


def _write_parquet(df: pd.DataFrame, path: Path) -> list:
    """Write one canonical table; returns [bytes, blake2b] of the file for the manifest."""
    # microsecond timestamps: Spark and most warehouses cannot read nanoseconds (dates are days)
    df.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    return [path.stat().st_size, file_hash(path)]


def _prune(root: Path, keep: Path, keep_n: int = KEEP_CACHES) -> None:
    """Keep the newest few prepared versions of a study (older fingerprints are stale)."""
    dirs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and d != keep),
                  key=lambda d: d.stat().st_mtime, reverse=True)
    for d in dirs[keep_n - 1:]:
        if time.time() - d.stat().st_mtime > 60:
            shutil.rmtree(d, ignore_errors=True)
    for lock in root.glob(".*.lock"):
        if lock.name != f".{keep.name}.lock" and time.time() - lock.stat().st_mtime > 3600:
            lock.unlink(missing_ok=True)


# --- building -----------------------------------------------------------------------------------

DEMO_KEEP = 2   # generated companies kept in .cache/demo/ (e.g. the benchmark scale and the default)


class DemoTables(Mapping):
    """The cached demo company's tables, each read from its file when asked for (not all at once: at
    10M order lines the whole company is 5.7 GB in pandas, one table at most 1.5 GB).

    The files are Arrow IPC (Feather v2), uncompressed: a cache, read far more often than written
    (each study on the company, each preparation), and mapped from the page cache without decoding.
    At 10M order lines Parquet took 7.1 CPU s to decode the fifteen tables in each preparation; mapped,
    with one record batch per table, they take about 0.1 s. The cost is disk: 4.7 GB there instead
    of 0.6 GB (1M order lines: 0.47 GB), read at about 1 GB/s when not in the page cache."""

    def __init__(self, folder: Path, names: list[str]):
        self.folder, self.names = folder, names

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.names:
            raise KeyError(name)
        import pyarrow.feather as feather

        from insight.data.loaders import PARQUET_TO_PANDAS

        return feather.read_table(self.folder / f"{name}{DEMO_SUFFIX}", memory_map=True).to_pandas(**PARQUET_TO_PANDAS)

    def rows(self, name: str) -> int:
        """A table's row count from its file's footer (nothing read)."""
        return _ipc_file_rows(self.folder / f"{name}{DEMO_SUFFIX}")

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


DEMO_SUFFIX = ".arrow"


def _ipc_file_rows(path: Path) -> int:
    """The rows of an Arrow IPC file of one batch (a cached demo table, a copy of a prepared table), from
    its footer: a missing, truncated or foreign file raises."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))   # one batch


FRAMES = "frames"   # in a prepared study's folder: the tables notebooks read whole, as Arrow IPC (read_prepared)


def read_prepared(path: Path, digest: str = "") -> pd.DataFrame:
    """A prepared table (its Parquet file in the study store) as a pandas frame, the frame
    pd.read_parquet gives, but from an uncompressed Arrow IPC copy of it mapped from the page cache.

    Notebooks that read a table whole (customers, subscriptions, survey answers...) mostly read the
    same few tables, each in its own kernel: at 10M order lines decoding the 500,000 customers from
    Parquet took 0.3-0.9 CPU s in every kernel that needs them (a fresh process pays the most), the
    mapped copy about 0.02 s, and the kernels share its pages instead of holding a decoded copy each.
    The first reader writes the copy (into `frames/` beside the Parquet file, named after the file's
    `digest` from the manifest so that a rebuilt table never meets an old copy; under a temporary name,
    then renamed: never half a file); the Parquet file stays the study store that the engines read.
    A missing or damaged copy is read from Parquet and written again; a copy that cannot be written
    (a read-only or full disk) only costs time."""
    import pyarrow.feather as feather

    copy = path.parent / FRAMES / f"{path.stem}{'-' + digest[:16] if digest else ''}{DEMO_SUFFIX}"
    try:
        table = feather.read_table(copy, memory_map=True)
    except Exception:  # noqa: BLE001 - none yet, or damaged: read from Parquet and written again
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        tmp = copy.with_name(f".tmp-{copy.stem}-{os.getpid()}{DEMO_SUFFIX}")
        try:
            copy.parent.mkdir(exist_ok=True)
            feather.write_feather(table, tmp, compression="uncompressed", chunksize=max(table.num_rows, 1))
            os.replace(tmp, copy)
        except OSError:
            tmp.unlink(missing_ok=True)
    return table.to_pandas()


def _demo_tables(params: Params, project: Project | None = None) -> Mapping[str, pd.DataFrame]:
    """The generated demo company. With a project, the generated tables are cached as Arrow IPC files in
    <project>/.cache/demo/<key>/, keyed by scale, seed, the generator's source and the pandas and
    pyarrow versions: studies on the same company (2023-annual and 2024-annual) generate it once,
    and each table is read when it is needed (DemoTables). The round trip is exact (same values,
    dtypes and column order). Written into a temporary folder and renamed into place under a
    file lock, like the prepared-study cache; a damaged entry (its listing or a file's footer) is
    generated again."""
    from insight.demo import generate  # lazy: only demo studies pay for the generator

    demo = params.data.demo
    if project is None:
        return generate(scale=demo.scale, seed=demo.seed)
    import pyarrow
    import pyarrow.feather as feather

    key = hashlib.blake2b(json.dumps({"demo": _demo_id(params), "pandas": pd.__version__, "pyarrow": pyarrow.__version__,
                                      "format": FORMAT_VERSION, "file": DEMO_SUFFIX + " one batch"}, sort_keys=True).encode(),
                          digest_size=10).hexdigest()
    root = project.cache_dir / "demo"
    final = root / key
    done = final / "tables.json"

    def read() -> DemoTables | None:
        try:
            names = json.loads(done.read_text(encoding="utf-8"))
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                return None   # a damaged list: the company is generated again
            for name in names:   # a missing, truncated or foreign file fails on its footer
                _ipc_file_rows(final / f"{name}{DEMO_SUFFIX}")
            return DemoTables(final, names)
        except Exception:  # noqa: BLE001 - a damaged cache entry is regenerated, never trusted
            return None

    if done.is_file() and (tables := read()) is not None:
        return tables
    with _lock(root / f".{key}.lock"):
        if done.is_file() and (tables := read()) is not None:
            return tables
        generated = generate(scale=demo.scale, seed=demo.seed)
        tmp = root / f".tmp-{key}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            for name, df in generated.items():
                # one record batch per table: its footer alone gives the rows (DemoTables.rows, the check above)
                feather.write_feather(df.reset_index(drop=True), tmp / f"{name}{DEMO_SUFFIX}", compression="uncompressed",
                                      chunksize=max(len(df), 1))
            (tmp / "tables.json").write_text(json.dumps(list(generated)), encoding="utf-8")
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _prune(root, keep=final, keep_n=DEMO_KEEP)
    return generated


def _numbered(df: pd.DataFrame) -> pd.DataFrame:
    """A demo table with its row numbers (`_row`, as a file's rows are numbered)."""
    df = df.reset_index(drop=True)     # copy-on-write: adding _row leaves the cached demo tables as they are
    df[ROW] = range(1, len(df) + 1)
    return df


def _order(names) -> list[str]:
    """The tables in an order where every table comes after the tables it refers to (customers and
    products before orders, qualitative sources before coded segments), else as listed."""
    names = list(names)
    refs = {n: {c.references.split(".")[0] for c in TABLES[n].columns if c.references} & set(names) - {n}
            for n in names}
    out: list[str] = []
    while len(out) < len(names):
        ready = [n for n in names if n not in out and refs[n] <= set(out)]
        out += ready or [n for n in names if n not in out]   # a cycle: the rest as listed
    return out


def build(params: Params, project: Project, key: bytes, fp: str = "", per: dict | None = None,
          folder: Path | None = None, workers: int | None = None) -> Prepared:
    """Load, map, validate, restrict and pseudonymise every table and write it as Parquet into
    `folder` (no cache involved; without a folder nothing is written).

    First, in this process and in order, the tables other tables refer to (customers, products, the
    qualitative sources...) are read, mapped, validated and restricted, and their key columns kept for
    the reference checks. Then, in `workers` forked processes (default: one per core, at most
    PREPARE_WORKERS), largest first: those tables are pseudonymised, profiled and written, and every
    other table (which needs nothing but the keys) is read (a demo table from its cache file; an export
    was read once, before, even when several tables come from it), mapped, validated, checked against
    the tables it refers to, restricted, pseudonymised, profiled and written. A worker sends back only
    a table's problems and manifest entries, so the memory held is one table per worker plus the key
    columns, not the whole company. Every problem of every table is still collected and raised at
    once as DataError (in the tables' order); once there is one, tables are still checked but no
    longer written (the caller discards the folder)."""
    per = per or {}
    data = params.data
    sources: dict[str, Callable[[], Loaded]] = {}   # each table's loader, called when it is prepared
    sizes: dict[str, int] = {}                     # each table's rows, known before it is loaded
    specs = {}
    errors: list[Problem] = []
    warnings: list[Problem] = []
    fingerprints: dict[str, str] = {}
    files: dict[str, str] = {}

    if data.demo is not None:
        label = "demo company"
        how = f"generated by insight.demo (scale {data.demo.scale:g}, seed {data.demo.seed})"
        demo_fp = hashlib.blake2b(_demo_id(params).encode(), digest_size=10).hexdigest()
        demo = _demo_tables(params, project)
        for name in demo:
            if name not in TABLES or name in data.tables:
                continue
            sources[name] = lambda name=name: Loaded(_numbered(demo[name]), label, how)
            sizes[name] = demo.rows(name) if isinstance(demo, DemoTables) else len(demo[name])
            files[name] = label
            fingerprints[name] = hashlib.blake2b(f"{demo_fp}:{name}:{fp}".encode(), digest_size=10).hexdigest()
    reads: dict[tuple, tuple] = {}   # several tables may be derived from one export: read it once
    uses: dict[tuple, int] = {}      # ... and let it go after the last of them
    memos: dict[str, tuple] = {}
    for name, spec in data.tables.items():
        if spec.source is not None:
            memo = (spec.source.url, spec.source.table, spec.source.query)
        else:
            memo = (str(project.resolve(spec.path)), spec.format, spec.sheet, spec.encoding, spec.delimiter)
        if memo not in reads:
            reads[memo] = read_source(name, spec, project) if spec.source is not None else read_table(name, spec, project)
            errors += reads[memo][1]   # a file's problems are reported once, not once per table
            if reads[memo][0] is not None:
                warnings += header_space_warnings(reads[memo][0], name)
        got = reads[memo][0]
        if got is not None:
            sources[name] = lambda memo=memo: reads[memo][0]
            sizes[name] = len(got.frame)
            uses[memo] = uses.get(memo, 0) + 1
            memos[name] = memo
            files[name] = got.file
            specs[name] = spec
            fingerprints[name] = per.get(name, "")

    if data.qual is not None:   # a .qdpx project and/or transcripts: the four qualitative tables
        got, problems = read_qual(data.qual, project, params.qualitative.probe_phrases)
        errors += problems
        for name in QUAL_TABLES:
            sources.pop(name, None)   # replaces the demo's qualitative tables
            files.pop(name, None)
        for name, ld in got.items():
            sources[name] = lambda ld=ld: ld
            sizes[name] = len(ld.frame)
            files[name] = ld.file
            fingerprints[name] = per.get("qual", "")

    referenced = {c.references.split(".")[0]: set() for n in sources for c in TABLES[n].columns if c.references}
    for n in sources:
        for c in TABLES[n].columns:
            if c.references:
                other, ocol = c.references.split(".")
                referenced[other].add(ocol)
    build = _Build(params, project, key, folder, sources, specs, files, memos, uses, reads, referenced)
    order = _order(sources)
    first = [n for n in order if n in referenced]   # the others refer to them: checked here, in order
    done: dict[str, _Table] = {}
    for name in first:   # their keys are kept; they are pseudonymised and written with the others below
        done[name] = build.check(name, write=not errors and not any(d.errors for d in done.values()))
    write = not errors and not any(d.errors for d in done.values())
    tasks = [("finish", n) for n in first if n in build.checked] + [("table", n) for n in order if n not in referenced]
    tasks.sort(key=lambda t: -sizes[t[1]])   # the largest first: the workers finish together
    n = min(len(tasks), PREPARE_WORKERS, workers if workers is not None else safety.cores())
    if n > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _BUILD
        _BUILD = build   # the forked workers inherit it (the keys, the checked tables, the exports read above)
        try:
            with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_worker_start) as pool:
                futures = [(name, pool.submit(_task_in_worker, what, name, write)) for what, name in tasks]
                try:
                    for name, f in futures:
                        done[name] = f.result()
                except BaseException:   # a failed write, a crash: the tables not started are not prepared
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        finally:
            _BUILD = None
    else:
        for what, name in tasks:
            done[name] = build.run(what, name, write)

    prepared = Prepared(tables={}, warnings=warnings, fingerprints=fingerprints, sources={}, fingerprint=fp)
    questionnaire: list[Problem] = []
    for name in order:   # problems and notes in the tables' order, whichever process prepared them
        d = done[name]
        errors += d.errors
        warnings += d.warnings
        prepared.notes += d.notes
        questionnaire += d.questionnaire
        prepared.details[name] = d.details
    if errors:
        raise DataError(errors + warnings)
    warnings += [p for p in questionnaire if p.severity != "error"]
    if any(p.severity == "error" for p in questionnaire):
        raise DataError(questionnaire + warnings)
    for name in [n for n in sources if done.get(n) and done[n].rows is not None]:   # as the tables were given
        d = done[name]
        prepared.rows[name], prepared.profile[name], prepared.personal[name] = d.rows, d.profile, d.personal
        prepared.sources[name] = files[name]
        if folder is not None:
            prepared.tables[name], prepared.checksums[name] = folder / f"{name}.parquet", d.checksum
    return prepared


# tables are prepared in this many processes at most (fewer with fewer cores, or `make report JOBS=1`):
# each holds one table at a time; at 10M order lines the two largest take about 2.6 GB each
PREPARE_WORKERS = 2


@dataclass
class _Table:
    """What preparing one table gives: its problems and its manifest entries (small: it comes back
    from a worker process). `rows` is None when the table was not prepared to the end."""
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    questionnaire: list = field(default_factory=list)   # survey responses against the questionnaire
    details: list = field(default_factory=list)
    rows: int | None = None
    profile: dict | None = None
    personal: dict | None = None
    checksum: list | None = None


_BUILD: "_Build | None" = None


def _worker_start() -> None:
    safety.die_with_parent()


def _task_in_worker(what: str, name: str, write: bool) -> _Table:
    assert _BUILD is not None, "a preparation worker runs in a process forked by build()"
    return _BUILD.run(what, name, write)


@dataclass
class _Build:
    params: Params
    project: Project
    key: bytes
    folder: Path | None
    sources: dict
    specs: dict
    files: dict
    memos: dict
    uses: dict
    reads: dict
    referenced: dict
    keys: dict = field(default_factory=dict)   # the columns other tables refer to, as mapped (before pseudonyms)
    kept_sources: pd.Series | None = None      # qualitative sources of the study period (coded segments follow)
    checked: dict = field(default_factory=dict)   # name -> (_Table, frame): checked, to be finished
    customers: dict = field(default_factory=dict)  # name -> (rows, distinct customer ids) seen by the reference check

    def run(self, what: str, name: str, write: bool) -> _Table:
        """"table": check and finish a table; "finish": finish a table checked earlier (in the parent)."""
        out = self.check(name, write) if what == "table" else None
        return self.finish(name, *self.checked.pop(name)) if name in self.checked else out

    def check(self, name: str, write: bool) -> _Table:
        """Read, map, validate, check the references and restrict one table; the table goes to `checked`
        for finish() when `write` (no problem so far) and it has no problem itself."""
        out = _Table()
        files, segments = self.files, self.params.data.segments
        ld = self.sources[name]()
        memo = self.memos.get(name)
        if memo is not None:
            self.uses[memo] -= 1
            if not self.uses[memo]:
                self.reads.pop(memo)
        df, m = map_table(name, ld.frame, self.specs.get(name), ld.file, segments)
        details = {name: [ld.details, *m.notes]}
        del ld
        out.errors += m.errors
        out.warnings += m.warnings
        out.details = details[name]
        if df is None:
            return out
        df = df.reset_index(drop=True)
        if df.empty:
            out.errors.append(Problem(files[name], name, "no rows are left after the mapping (drop_missing / exclude)",
                                      "check `exclude:` and `drop_missing:` for this table"))
            return out
        out.errors += validate_table(name, df, files[name], segments)
        out.warnings += missing_warnings(name, df, files[name], self.params.data.missing_warning)
        distinct: dict = {}
        ref_errors, ref_notes = check_references({name: df}, files, self.keys, distinct)
        if (name, "customer_id") in distinct:   # for the profile (finish)
            self.customers[name] = (len(df), distinct[(name, "customer_id")])
        out.errors += ref_errors
        out.notes += ref_notes
        if name in self.referenced:
            self.keys[name] = df[[c for c in self.referenced[name] if c in df.columns]]
        if out.errors or not write:
            return out   # nothing more is written; the remaining tables are still checked
        df = restrict_to_period(name, df, self.params, details, self.kept_sources)
        out.details = details[name]
        if name == "qual_sources":
            self.kept_sources = df["source_id"]
        self.checked[name] = (out, df)
        return out

    def finish(self, name: str, out: _Table, df: pd.DataFrame) -> _Table:
        """Pseudonymise, profile and write a checked table (survey responses after the questionnaire check)."""
        if name == "survey_responses":   # the answers against the questionnaire, before any notebook runs
            from insight.survey.questionnaire import check_study_responses

            out.questionnaire = check_study_responses(self.params, self.project, df, self.files[name])
            if any(p.severity == "error" for p in out.questionnaire):
                return out
        df, out.personal = protect(name, df, self.specs.get(name), self.params, self.key)
        seen = self.customers.pop(name, None)   # counted by the reference check, if the rows are the same
        same = seen is not None and seen[0] == len(df) and "customer_id" not in out.personal["pseudonymised"]
        out.profile = profile_table(name, df, customers=seen[1] if same else None)
        df = df.drop(columns=[ROW])
        out.rows = len(df)
        if self.folder is not None:
            out.checksum = _write_parquet(df, self.folder / f"{name}.parquet")
        return out


def header_space_warnings(ld, table: str) -> list[Problem]:
    """One warning per header that has spaces around it: it is matched without them, but a mapping
    written with the spaces (or a tool reading the file elsewhere) would miss it."""
    from insight.data.problems import problem
    return [problem(ld.file, f"{table}.{h.strip()}",
                    f"the header {h!r} has spaces around it; it is read as {h.strip()!r}",
                    f"write `{h.strip()}` (without the spaces) in the mapping; trim the header in the export if "
                    "another tool reads it too", "warning") for h in ld.spaced_headers]


def restrict_to_period(name: str, df: pd.DataFrame, params: Params, details: dict,
                       kept_sources: pd.Series | None = None) -> pd.DataFrame:
    """Survey responses and qualitative sources within the study period (RESTRICTED); coded segments
    with the sources kept (`kept_sources`, the source ids of the restricted qualitative sources)."""
    start = pd.Timestamp(params.study.period.start)
    end = pd.Timestamp(params.study.period.end) + pd.Timedelta(days=1)
    if name in RESTRICTED:
        col = RESTRICTED[name]
        keep = ((df[col] >= start) & (df[col] < end)).to_numpy(dtype=bool)
        if not keep.all():
            details.setdefault(name, []).append(
                f"{int((~keep).sum()):,} rows outside the study period {params.study.period.start} to "
                f"{params.study.period.end} left out (by {col})")
            df = df.loc[keep].reset_index(drop=True)
    if name == "coded_segments" and kept_sources is not None:
        keep = isin(df["source_id"], kept_sources).to_numpy(dtype=bool)
        if not keep.all():
            details.setdefault("coded_segments", []).append(
                f"{int((~keep).sum()):,} coded segments of sources outside the study period left out")
            df = df.loc[keep].reset_index(drop=True)
    return df


def protect(name: str, df: pd.DataFrame, spec, params: Params, key: bytes) -> tuple[pd.DataFrame, dict]:
    """Pseudonymise personal columns and mask emails/phones in free text."""
    table = TABLES[name]
    canon = {c.name for c in table.columns}
    flagged = {c.name for c in table.columns if c.personal}
    if spec is not None and spec.personal is not None:   # the table's own list is taken as written
        wanted = set(spec.personal) | flagged
    else:  # the study-wide names apply to personal canonical columns and to extra (survey) columns
        wanted = flagged | {c for c in params.data.personal_columns if c not in canon}
    personal_cols = [c for c in df.columns if c in wanted]
    text_cols = [c.name for c in table.columns if c.free_text and c.name in df.columns and c.name not in personal_cols]
    if table.extra_columns:  # survey answers: any text column may hold an open end
        text_cols += [c for c in df.columns if c not in canon and c != ROW and c not in personal_cols
                      and (df[c].dtype == object or str(df[c].dtype) in ("str", "string"))]
    df = df.copy(deep=False)   # copy-on-write (pandas 3): the columns replaced below never touch the caller's frame
    for c in personal_cols:
        df[c] = pii.pseudonymise(df[c], key)
    emails = phones = 0
    for c in text_cols:
        df[c], e, p = pii.mask_series(df[c])
        emails += e
        phones += p
    info = {"pseudonymised": personal_cols, "masked": text_cols, "emails_masked": emails, "phones_masked": phones}
    return df, info


def profile_table(name: str, df: pd.DataFrame, customers: int | None = None) -> dict:
    """Rows, date range, distinct customers (`customers` when already counted) and missing values."""
    table = TABLES[name]
    prof: dict = {"rows": int(len(df)), "date_column": table.date_column, "start": None, "end": None,
                  "customers": None, "missing": {}}
    if table.date_column and table.date_column in df.columns and df[table.date_column].notna().any():
        prof["start"] = str(df[table.date_column].min().date())
        prof["end"] = str(df[table.date_column].max().date())
    if "customer_id" in df.columns:
        prof["customers"] = int(customers) if customers is not None else int(df["customer_id"].nunique(dropna=True))
    miss = df.drop(columns=[ROW], errors="ignore").isna().sum()
    prof["missing"] = {str(k): int(v) for k, v in miss.items() if v}
    return prof
