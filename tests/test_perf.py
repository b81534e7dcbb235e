"""Performance work (issue 11): every speed-up gives the same results as the code it replaces.

- insight.speedups.isin: pandas' isin on text columns through pyarrow (reference: Python set membership);
- qual: parse_transcripts (batch) == parse_transcript per transcript; probing_depth's chain lengths
  against hand-counted transcripts;
- data.prepare: the cache of the generated demo company (exact Parquet round trip, atomic, reused);
- forkkernel: notebooks run in warm (forked) kernels with their own environment and working folder,
  and fall back to a plain kernel when no server answers.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

from conftest import make_project


# --- isin ----------------------------------------------------------------------------------------

def test_fast_isin_matches_set_membership():
    from insight.speedups import isin
    rng = np.random.default_rng(1)
    ids = pd.Series(np.char.add("c", rng.integers(0, 3000, 5000).astype(str)), dtype="str")
    ids[7] = None
    values = pd.Series(np.char.add("c", rng.integers(0, 1500, 4000).astype(str)), dtype="str")
    values[3] = None
    allowed = set(values.dropna())
    # hand reference: a value is "in" when it is one of the values; a missing id matches a missing value
    expect = np.array([(v in allowed) if isinstance(v, str) else True for v in ids.astype(object)])
    for vals in (values, values.to_numpy(dtype=object), pd.Index(values), values.astype("category"), list(values),
                 set(values), values.unique()):
        got = isin(ids, vals)
        assert isinstance(got, pd.Series) and got.index.equals(ids.index)
        assert (got.to_numpy() == expect).all(), type(vals)
        assert (got.to_numpy() == ids.isin(vals).to_numpy()).all(), type(vals)   # pandas' own answer
    # no missing value among the values: a missing id is not in them
    got = isin(ids, values.dropna()).to_numpy()
    assert not got[7] and (got[:7] == expect[:7]).all()
    # values of another type never match text (pandas' own rule); an Index gives an array, as pandas does
    assert not isin(ids, pd.Series(np.arange(2000))).any()
    assert not isin(ids, pd.Series([], dtype="str")).any()
    idx = pd.Index(ids.dropna().unique())
    assert isinstance(isin(idx, values), np.ndarray) and (isin(idx, values) == idx.isin(values)).all()
    # other dtypes are pandas' isin itself
    nums = pd.Series(rng.integers(0, 100, 3000))
    assert (isin(nums, np.arange(0, 100, 2)) == nums.isin(np.arange(0, 100, 2))).all()


# --- transcripts ----------------------------------------------------------------------------------

A = ("Interviewer: How was onboarding?\n"
     "Participant: Slow.\n"
     "Interviewer: Why do you say slow?\n"        # probe 1
     "Participant: Nobody called us.\n"
     "Interviewer: [probe] And then?\n"           # probe 2 (chain of 2)
     "Participant: We found the academy.\n"
     "Interviewer: Can you give an example?\n")   # probe 3 (chain of 3), the last turn
B = ("Participant: I start talking.\n"            # must not count as an answer to A's last probe
     "Interviewer: Thanks.\n"
     "Interviewer: Why?\n"                        # chain of 1
     "Participant: Because.\n")


def test_parse_transcripts_equals_one_by_one():
    from insight.qual.importers import parse_transcript, parse_transcripts
    texts = [A, None, "   ", B, A]
    batch = parse_transcripts(texts)
    assert sorted(set(batch["doc"])) == [0, 3, 4]
    for i in (0, 3, 4):
        one = parse_transcript(texts[i])
        got = batch[batch["doc"] == i].drop(columns="doc").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, one, check_dtype=False)
    # B's first turn follows A's last probe in the batch but is not an answer to it
    assert not batch[batch["doc"] == 3]["is_probe"].iloc[0]
    assert parse_transcripts([None, ""]).empty


def test_probing_depth_chains_hand_counted():
    from insight.qual.analysis import probing_depth
    from insight.qual.model import QualData
    sources = pd.DataFrame({"source_id": ["s1", "s2", "s3"], "kind": ["interview_1to1"] * 3,
                            "date": pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-03"]),
                            "participant_id": ["p1", "p2", "p3"], "text": [A, B, None]})
    segs = pd.DataFrame({"segment_id": ["g1", "g2"], "source_id": ["s1", "s2"], "participant_id": ["p1", "p2"],
                         "code": ["x", "y"], "coder": ["c1", "c1"], "is_probe": [True, False], "text": ["a", "b"]})
    qd = QualData(sources=sources, segments=segs)
    d = probing_depth(qd).set_index("source_id")
    # A: 4 interviewer turns, 3 probes (turns 2-4 consecutive -> chain 3); B: 2 questions, 1 probe, chain 1
    assert d.loc["s1", ["questions", "probes", "deepest_chain"]].tolist() == [4, 3, 3]
    assert d.loc["s2", ["questions", "probes", "deepest_chain"]].tolist() == [2, 1, 1]
    assert d.loc["s3", ["questions", "probes", "deepest_chain"]].isna().all()
    assert d.loc["s1", "probe_share"] == 0.75


# --- demo cache ----------------------------------------------------------------------------------

def test_demo_company_cached_once_and_identical(tmp_path, monkeypatch):
    from insight.data import prepare
    from insight.demo import generate
    from insight.params import load_params
    from insight.paths import Project

    project = Project(make_project(tmp_path / "p", scale=0.1))
    params = load_params("2024-annual", project)
    calls = []
    import insight.demo as demo_pkg
    monkeypatch.setattr(demo_pkg, "generate", lambda **kw: calls.append(kw) or generate(**kw))
    first = prepare._demo_tables(params, project)
    other = load_params("2023-annual", project)       # the same company: read from the cache
    second = prepare._demo_tables(other, project)
    assert len(calls) == 1
    ref = generate(scale=0.1, seed=params.data.demo.seed)
    for name, df in ref.items():
        pd.testing.assert_frame_equal(second[name], df, check_exact=True)
        pd.testing.assert_frame_equal(first[name], df, check_exact=True)
    folders = list((project.cache_dir / "demo").iterdir())
    assert [f.name for f in folders if not f.name.startswith(".")] and not [f for f in folders if ".tmp-" in f.name]
    (cached,) = [f for f in folders if f.is_dir()]
    assert json.loads((cached / "tables.json").read_text()) == list(ref)


# --- warm kernels ----------------------------------------------------------------------------------

def _probe_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell('study = "2024-annual"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os, sys, json\n"
                                          "print(json.dumps({'nb': os.environ.get('INSIGHT_NOTEBOOK'), 'cwd': os.getcwd(),"
                                          " 'pandas': 'pandas' in sys.modules, 'pid': os.getpid()}))")]
    nbformat.write(nb, str(path))


def _printed(out_nb: Path) -> dict:
    nb = nbformat.read(str(out_nb), as_version=4)
    return json.loads(nb.cells[-1].outputs[0]["text"])


def test_warm_kernels_run_notebooks_in_their_own_process(tmp_path, project_root):
    from insight import forkkernel
    from insight.runner import KERNEL_ENV, execute_job

    (tmp_path / "nbs").mkdir()
    _probe_notebook(tmp_path / "nbs" / "probe.ipynb")
    job = {"path": str(tmp_path / "nbs" / "probe.ipynb"), "study": "2024-annual", "root": str(project_root),
           "work_dir": str(tmp_path / "work"), "meta": {"title": "probe"}}
    (tmp_path / "work").mkdir()
    with forkkernel.Server(tmp_path / "work", env=KERNEL_ENV) as server:
        res = [execute_job({**job, "name": f"probe{i}"}) for i in range(2)]
        assert server.proc.poll() is None
    assert [r["status"] for r in res] == ["ok", "ok"], res
    seen = [_printed(tmp_path / "work" / f"probe{i}.ipynb") for i in range(2)]
    assert [s["nb"] for s in seen] == ["probe0", "probe1"]               # each kernel has its own environment
    assert {s["cwd"] for s in seen} == {str(tmp_path / "nbs")}           # and the notebook's folder
    assert all(s["pandas"] for s in seen)                                # warm: pandas was imported by the server
    assert seen[0]["pid"] != seen[1]["pid"]
    assert all(r["cpu"] > 0 for r in res)
    assert forkkernel.ENV_SOCKET not in os.environ


def test_thread_limits_share_the_cores_and_leave_the_users_settings(monkeypatch):
    from insight import safety

    for v in (*safety.THREAD_POOLS, safety.ENGINE_THREADS):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(safety, "cores", lambda: 8)
    assert safety.thread_limits(2) == {"OPENBLAS_NUM_THREADS": "4", "MKL_NUM_THREADS": "4", "INSIGHT_DUCKDB_THREADS": "4"}
    assert set(safety.thread_limits(3).values()) == {"2"} and set(safety.thread_limits(16).values()) == {"1"}
    assert set(safety.thread_limits(1).values()) == {"8"}
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")        # the user's own setting wins
    assert "OPENBLAS_NUM_THREADS" not in safety.thread_limits(2)


def test_parallel_kernels_get_their_share_of_blas_and_duckdb_threads(tmp_path, project_root, monkeypatch):
    """In a run of two notebooks at once each warm kernel's OpenBLAS (loaded in the fork server) and its
    study engine's DuckDB have cores // 2 threads (at least 1); params' data.engine.threads still win."""
    from insight import forkkernel, safety
    from insight.runner import execute_job, kernel_env

    for v in (*safety.THREAD_POOLS, safety.ENGINE_THREADS):
        monkeypatch.delenv(v, raising=False)
    (tmp_path / "nbs").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell('study = "2024-annual"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(
                    "import json, threadpoolctl\n"
                    "from insight.data.engine import connect\n"
                    "blas = sorted({p['num_threads'] for p in threadpoolctl.threadpool_info() if p['internal_api'] == 'openblas'})\n"
                    "duck = lambda spec: connect(spec).raw_sql(\"SELECT current_setting('threads')\").fetchone()[0]\n"
                    "print(json.dumps({'blas': blas, 'duckdb': duck(None), 'params': duck({'threads': 3})}))")]
    nbformat.write(nb, str(tmp_path / "nbs" / "probe.ipynb"))
    (tmp_path / "work").mkdir()
    env = kernel_env(2)
    job = {"path": str(tmp_path / "nbs" / "probe.ipynb"), "study": "2024-annual", "root": str(project_root),
           "work_dir": str(tmp_path / "work"), "meta": {"title": "probe"}, "name": "probe", "env": env}
    with forkkernel.Server(tmp_path / "work", env=env):
        res = execute_job(job)
    assert res["status"] == "ok", res
    share = max(1, safety.cores() // 2)
    assert _printed(tmp_path / "work" / "probe.ipynb") == {"blas": [share], "duckdb": share, "params": 3}
    # the job ran in this process: its thread shares are not left behind for the next stage's kernels
    assert not {*safety.THREAD_POOLS, safety.ENGINE_THREADS} & set(os.environ)


def test_kernel_handshake_without_idle_waits(tmp_path, project_root, monkeypatch):
    """The runner's kernels are connected to and shut down without jupyter_client's idle waits (0.2 s
    of IOPub silence after kernel_info, 0.1 s polls at shutdown): the notebook's outputs are still each
    cell's own (nbclient takes only the messages answering its request, even with stray IOPub traffic
    right after the handshake), and a kernel that does not end when asked (a thread that keeps its
    process alive) is still stopped by jupyter_client's escalation. INSIGHT_FAST_HANDSHAKE=0 gives
    jupyter_client's own client back."""
    import gc
    from jupyter_client.asynchronous import AsyncKernelClient

    from insight import forkkernel
    from insight.runner import KERNEL_ENV, execute_job

    fast = forkkernel.kernel_manager_class()(kernel_name="python3")
    assert issubclass(fast.client_factory, AsyncKernelClient) and fast.client_factory is not AsyncKernelClient
    monkeypatch.setenv("INSIGHT_FAST_HANDSHAKE", "0")
    assert forkkernel.kernel_manager_class()(kernel_name="python3").client_factory is AsyncKernelClient
    monkeypatch.delenv("INSIGHT_FAST_HANDSHAKE")

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell('study = "2024-annual"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import sys, threading, time\n"
                                          "print('first', flush=True); print('err', file=sys.stderr)"),
                nbformat.v4.new_code_cell("6 * 7"),
                nbformat.v4.new_code_cell("import gc; frozen = gc.get_freeze_count()\n"
                                          "threading.Thread(target=time.sleep, args=(600,)).start()   # not a daemon\n"
                                          "print(frozen > 0)")]
    (tmp_path / "nbs").mkdir()
    (tmp_path / "work").mkdir()
    nbformat.write(nb, str(tmp_path / "nbs" / "stuck.ipynb"))
    job = {"name": "stuck", "path": str(tmp_path / "nbs" / "stuck.ipynb"), "study": "2024-annual",
           "root": str(project_root), "work_dir": str(tmp_path / "work"), "meta": {"title": "stuck"}}
    with forkkernel.Server(tmp_path / "work", env=KERNEL_ENV):
        res = execute_job(job)
    assert res["status"] == "ok", res
    assert res["duration"] < 60                      # stopped, not waited for (the thread sleeps 600 s)
    out = nbformat.read(str(tmp_path / "work" / "stuck.ipynb"), as_version=4)
    out.cells = [c for c in out.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert [(o.get("name"), o.get("text")) for o in out.cells[1].outputs] == [("stdout", "first\n"), ("stderr", "err\n")]
    assert [o["data"]["text/plain"] for o in out.cells[2].outputs] == ["42"]
    assert out.cells[3].outputs[0]["text"] == "True\n"   # the server's imports are frozen out of the collector
    assert gc.get_freeze_count() == 0                # (in the server only, not in the runner)


def test_fork_server_preloads_without_threads_of_duckdb():
    """The server forks kernels, which is safe only while it runs no threads of its own: its preload
    must not import duckdb (importing it starts a thread), while ibis (slow to import) is preloaded."""
    import subprocess
    import sys
    code = ("import importlib, sys; from insight.forkkernel import PRELOAD, PRELOAD_PACKAGES, _modules\n"
            "for m in [*PRELOAD, *_modules(PRELOAD_PACKAGES)]: importlib.import_module(m)\n"
            "print('duckdb' in sys.modules, 'ibis' in sys.modules, 'insight.crm.value' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "True"]


def test_kernels_talk_over_their_own_unix_sockets():
    """Two notebooks starting at once once got the same free TCP port (chosen, released, then bound by
    the kernel: "Address already in use"); kernels now use IPC sockets with a prefix of their own in
    the temporary folder (not "kernel-ipc" in the notebook's folder)."""
    import tempfile
    from insight.forkkernel import kernel_manager_class
    cls = kernel_manager_class()
    a, b = cls(kernel_name="python3"), cls(kernel_name="python3")
    assert a.transport == b.transport == "ipc"
    assert a.ip != b.ip and os.path.dirname(a.ip) == tempfile.gettempdir()


def test_sockets_of_killed_kernels_are_removed_by_the_next_run(tmp_path, monkeypatch):
    """A kernel killed with its worker leaves its five Unix socket files in the temporary folder; they are
    named after the process that started the kernel, and the next run removes those whose process is
    gone (insight.safety.clean_stale), never a live kernel's."""
    import subprocess
    import sys
    import tempfile

    from insight import safety
    from insight.forkkernel import kernel_manager_class
    from insight.paths import Project

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ip = kernel_manager_class()(kernel_name="python3").ip
    assert os.path.basename(ip).startswith(f"{safety.KERNEL_IPC_PREFIX}{os.getpid()}-")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    gone = [tmp_path / f"{safety.KERNEL_IPC_PREFIX}{dead}-0123456789ab-{i}" for i in range(1, 6)]
    live = [Path(ip + f"-{i}") for i in range(1, 6)]
    other = tmp_path / f"{safety.KERNEL_IPC_PREFIX}notapid-1"
    for f in [*gone, *live, other]:
        f.write_text("")
    removed = safety.clean_stale(Project(tmp_path / "project"), "toy")
    assert sorted(removed) == sorted(gone)
    assert all(f.exists() for f in [*live, other]) and not any(f.exists() for f in gone)


def test_launcher_falls_back_to_a_plain_kernel(tmp_path, project_root, monkeypatch):
    from insight import forkkernel
    from insight.runner import execute_job

    (tmp_path / "nbs").mkdir()
    _probe_notebook(tmp_path / "nbs" / "probe.ipynb")
    monkeypatch.setenv(forkkernel.ENV_SOCKET, str(tmp_path / "no-such-socket"))
    monkeypatch.setenv(forkkernel.ENV_PID, "999999999")   # no such process: do not wait for it
    res = execute_job({"name": "probe", "path": str(tmp_path / "nbs" / "probe.ipynb"), "study": "2024-annual",
                       "root": str(project_root), "work_dir": str(tmp_path / "work"), "meta": {"title": "probe"}})
    assert res["status"] == "ok", res
    assert _printed(tmp_path / "work" / "probe.ipynb")["pandas"] is False   # a fresh, cold kernel



# --- Study.table: no deep copy, still independent -------------------------------------------------

def test_study_table_changes_do_not_leak(use_small_project):
    from insight.study import load_study
    study = load_study("2024-annual")
    first = study.table("customers")
    ref = study.table("customers").copy(deep=True)
    col = first.columns[0]
    first.loc[first.index[0], col] = "changed"
    first["extra"] = 1
    first[first.columns[1]] = first[first.columns[1]].shift(1)
    first.iloc[1:3, 0] = None
    again = study.table("customers")
    pd.testing.assert_frame_equal(again, ref)
    assert again is not first and "extra" not in again


def test_runner_imports_nbformat_without_compiling_iri_grammars():
    """The runner's warm-up (papermill, nbconvert and the report template, while the data are prepared)
    without rfc3987_syntax's 38 lark grammars (1.3 CPU s at import, only for jsonschema's "iri" formats,
    which notebook validation never checks); notebooks are still read, validated and written."""
    import subprocess
    import sys

    code = ("import sys; from insight import render; from insight.paths import Project\n"
            "render.warm_up(Project.find())\n"
            "import nbformat\n"
            "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
            "nbformat.validate(nbformat.reads(nbformat.writes(nb), as_version=4))\n"
            "print('lark' in sys.modules, 'rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None,"
            " 'papermill' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True"]


def test_bench_memory_sampler_sums_the_tree_and_reads_pss_sparingly():
    """make bench's PeakMemory: the peak is the sum of the resident sizes of the whole process tree (a
    child holding 300 MB shows in it), read four times a second; the proportional sizes, which cost the
    kernel a walk over every page, are read on a new peak at most once a second and otherwise every
    few seconds, not at every sample."""
    import subprocess
    import sys
    import time

    from insight.bench import PeakMemory

    code = "import numpy as np, time; a = np.ones(300 * 2**20 // 8); time.sleep(3)"
    with PeakMemory(interval=0.05, pss_gap=1.0, pss_every=5.0) as mem:
        child = subprocess.Popen([sys.executable, "-c", code])
        child.wait(timeout=60)
        time.sleep(0.2)
    assert mem.peak >= 300 * 2**20 and mem.peak_single >= 300 * 2**20 - 2**20
    assert 0 < mem.peak_pss <= mem.peak * 1.05
    assert mem.samples >= 20 and mem.pss_samples <= mem.samples / 4


def test_bench_reads_the_two_cold_times_as_a_fixed_part_and_a_part_per_million_lines():
    """make bench's summary: a straight line through the two scales' cold times. Hand-computed: 35.0 s
    at 1,000,000 lines and 125.0 s at 10,000,000 give 10 s per million and 25 s fixed; a ratio of 3
    (F + 10 D <= 3 F + 3 D) needs D <= 2 x 25 / 7 = 7.14 s per million at that fixed part."""
    from insight.bench import fixed_and_per_million

    rows = [{"cold_s": 35.0, "order_lines": 1_000_000}, {"cold_s": 125.0, "order_lines": 10_000_000}]
    assert fixed_and_per_million(rows) == {"fixed_s": 25.0, "per_million_lines_s": 10.0,
                                           "per_million_lines_s_for_ratio_3": 7.14}
    # at exactly D = 2F/7 the ratio is 3
    f, d = 25.0, 2 * 25.0 / 7
    assert abs((f + 10 * d) / (f + d) - 3.0) < 1e-12
    # one scale, a failed run or scales in the wrong order: nothing to read
    assert fixed_and_per_million(rows[:1]) is None
    assert fixed_and_per_million([rows[0], {"cold_s": None, "order_lines": 10_000_000}]) is None
    assert fixed_and_per_million(rows[::-1]) is None


def test_bench_reads_each_alternated_pair_and_the_host_probe():
    """make bench --repeat N: each pair of cold runs (1M then 10M, minutes apart) gives a ratio, and the
    same ratio with each run's time divided by the host probe taken before it. Hand-computed: 30 s and
    105 s -> 3.5; 40 s and 120 s -> 3.0; 35 s and 140 s -> 4.0: median 3.5. Probes 0.2 / 0.2, 0.25 / 0.2
    and 0.2 / 0.25: adjusted (105/0.2)/(30/0.2) = 3.5, (120/0.2)/(40/0.25) = 3.75, (140/0.25)/(35/0.2)
    = 3.2: median 3.5."""
    from insight.bench import host_probe, paired_ratios

    small = [{"total_seconds": 30.0, "host_probe_s": 0.2}, {"total_seconds": 40.0, "host_probe_s": 0.25},
             {"total_seconds": 35.0, "host_probe_s": 0.2}]
    large = [{"total_seconds": 105.0, "host_probe_s": 0.2}, {"total_seconds": 120.0, "host_probe_s": 0.2},
             {"total_seconds": 140.0, "host_probe_s": 0.25}]
    got = paired_ratios(small, large)
    assert got["time_ratio_10x_pairs"] == [3.5, 3.0, 4.0] and got["time_ratio_10x_pairs_median"] == 3.5
    assert got["time_ratio_10x_host_adjusted"] == 3.5 and got["host_probe_s_range"] == [0.2, 0.25]
    # a failed run leaves its pair out; runs without probes give the plain ratios only; no pair: None
    assert paired_ratios([{"exit": 1}, small[1]], large[:2])["time_ratio_10x_pairs"] == [3.0]
    plain = paired_ratios([{"total_seconds": 30.0}], [{"total_seconds": 90.0}])
    assert plain == {"time_ratio_10x_pairs": [3.0], "time_ratio_10x_pairs_median": 3.0}
    # a pair without a probe counts in the plain ratios only
    mixed = paired_ratios([{"total_seconds": 30.0}, small[0]], [{"total_seconds": 90.0}, large[0]])
    assert mixed["time_ratio_10x_pairs"] == [3.0, 3.5] and mixed["time_ratio_10x_host_adjusted"] == 3.5
    assert mixed["host_probe_s_range"] == [0.2, 0.2]
    assert paired_ratios([], []) is None
    assert 0 < host_probe(rounds=1) < 30


def test_bench_summarises_repeated_runs_by_their_medians_and_the_highest_memory():
    """make bench --repeat N: the summary's times and CPU seconds are the medians of the N runs, the
    peak memory the highest of them (the target is a ceiling), and every run is listed. Hand-computed:
    cold runs of 36.33, 34.14 and 41.65 s have the median 36.33 s; CPU 62.0, 59.1 and 73.0 the median
    62.0; preparations of 2.72, 2.06 and 2.9 s the median 2.72; with two runs, the mean of the two (35.235 s,
    rounded to the hundredth)."""
    from insight.bench import repeated

    colds = [{"total_seconds": 36.33, "cpu_seconds": 62.0, "peak_total_memory_mb": 1755.0, "peak_total_pss_mb": 1028.7},
             {"total_seconds": 34.14, "cpu_seconds": 59.1, "peak_total_memory_mb": 1849.4, "peak_total_pss_mb": 1114.7},
             {"total_seconds": 41.65, "cpu_seconds": 73.0, "peak_total_memory_mb": 1790.2, "peak_total_pss_mb": 1001.0}]
    preps = [{"seconds_in_process": 2.72}, {"seconds_in_process": 2.06}, {"seconds_in_process": 2.9}]
    assert repeated(colds, preps) == {
        "data_preparation_s": 2.72, "cold_s": 36.33, "cold_cpu_s": 62.0, "peak_total_memory_mb": 1849.4,
        "peak_total_pss_mb": 1114.7, "cold_s_runs": [36.33, 34.14, 41.65], "cold_cpu_s_runs": [62.0, 59.1, 73.0],
        "data_preparation_s_runs": [2.72, 2.06, 2.9]}
    two = repeated(colds[:2], preps[:2])
    assert two["cold_s"] in (35.23, 35.24) and (two["cold_cpu_s"], two["data_preparation_s"]) == (60.55, 2.39)
    # one run: its own figures, no lists; a failed run (no times) does not count in the medians
    assert repeated(colds[:1], preps[:1]) == {"data_preparation_s": 2.72, "cold_s": 36.33, "cold_cpu_s": 62.0,
                                              "peak_total_memory_mb": 1755.0, "peak_total_pss_mb": 1028.7}
    assert repeated([colds[0], {"run": "cold", "exit": 1}], preps[:1])["cold_s"] == 36.33
