"""One results store, two backends: SQLite and a real PostgreSQL server give the same
records to every command; ``genbench db copy`` moves a history between them losing
nothing; a server that cannot be used is bad input, named without its password."""

from __future__ import annotations

import json
import re

import pytest
import torch
from sqlalchemy import select, text

from harness.records import ResultsStore
from harness.records.processes import ProcessId
from harness.records.tables import TABLES
from tests.planted import noisy, plant_suite

pytestmark = pytest.mark.postgres


def _plant_history(location: str) -> None:
    """The same history in any store: two labelled suite runs of dcgan and a failed seed."""
    store = ResultsStore(location)
    for k, label in enumerate(("base", "head")):
        plant_suite(store, label, {"fd-clocknet": noisy(5.0 + k, 0.02, 3, k), "ssim": noisy(0.6, 0.01, 3, 7 + k),
                                   "train_images_per_s": noisy(900.0, 0.05, 3, 20 + k)},
                    failed_seeds=(2,) if k else (), started=1_700_000_000.0 + k)
    for run in store.runs()[:2]:  # a logged NaN is JSON only to Python: copied as the text it is
        store.add_evaluation(run.id, 256, 1.25, {"train/loss": float("nan"), "train/acc": 0.1 + 0.2})
    store.close()


def _rows(location: str) -> dict[str, list[dict]]:
    store = ResultsStore(location, create=False)
    with store.engine.connect() as connection:
        rows = {t.name: [dict(r) for r in connection.execute(select(t).order_by(*t.primary_key.columns)).mappings()]
                for t in TABLES}
    store.close()
    return rows


def _same_ids(text: str) -> str:
    """Planted ids are random: numbered in order of appearance, so two stores compare; the
    time since a planted suite run is now."""
    seen: dict[str, str] = {}
    text = re.sub(r'"wall_s": [0-9.]+', '"wall_s": T', text)  # since the suite run was planted: now
    return re.sub(r"\b[rs]-[0-9a-f]{8}\b", lambda m: seen.setdefault(m[0], f"id{len(seen)}"), text)


def test_every_reading_command_gives_the_same_on_both_backends(run_cli, tmp_path, postgres_url):
    outputs = {}
    for backend, location in (("sqlite", str(tmp_path / "g.sqlite")), ("postgresql", postgres_url)):
        _plant_history(location)
        out = tmp_path / backend
        said = []
        for args in (["leaderboard", "--format", "json", "--suite", "head"], ["compare", "base", "head"],
                     ["history", "-g", "dcgan", "-m", "fd-clocknet", "--format", "json"], ["runs", "--json"],
                     ["report", "--suite", "head", "--html", out / "r.html"]):
            code, stdout, stderr = run_cli(*args, "--db", location, "--out", out)
            assert code in (0, 1), stderr  # compare/history exit 1 on a regression
            said.append((code, _same_ids(stdout.replace(location, "DB").replace(str(out), "OUT"))))
        outputs[backend] = said
        assert "dcgan" in (out / "r.html").read_text()
    assert outputs["sqlite"] == outputs["postgresql"]


def test_db_copy_round_trips_a_history_losing_nothing(run_cli, tmp_path, postgres_url):
    first, back = tmp_path / "first.sqlite", tmp_path / "back.sqlite"
    _plant_history(str(first))
    code, out, err = run_cli("db", "copy", first, postgres_url, "--json")
    assert code == 0, err
    assert json.loads(out)["copied"] == {"suite_runs": 2, "runs": 6, "evaluations": 2, "metrics": 15}
    code, _, err = run_cli("db", "copy", postgres_url, back)
    assert code == 0, err
    original = _rows(str(first))
    assert _rows(postgres_url) == original and _rows(str(back)) == original  # every column, bit for bit
    code, out, _ = run_cli("db", "copy", first, postgres_url)  # again: all there, nothing doubled
    assert code == 0 and "were skipped" in out and _rows(postgres_url) == original
    code, out, _ = run_cli("db", "info", "--json", "--db", postgres_url)
    assert code == 0 and json.loads(out) | {"store": "DB"} == {
        "store": "DB", "backend": "postgresql", "revision": "0004", "suite_runs": 2, "runs": 6, "evaluations": 2,
        "metrics": 15}


def test_db_copy_refuses_a_conflicting_row_and_writes_nothing(run_cli, tmp_path):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    _plant_history(str(a))
    store = ResultsStore(b)
    (suite_run,) = [s.id for s in ResultsStore(a, create=False).suite_runs()[:1]]
    store.add_suite_run(suite_run, "other", None, "quick", {}, {})  # same id, other content
    store.close()
    before = _rows(str(b))
    code, _, err = run_cli("db", "copy", a, b)
    assert code == 2 and "already holds suite_runs row" in err and "nothing was copied" in err
    assert _rows(str(b)) == before


def test_db_copy_update_brings_a_history_that_went_on_up_to_date(run_cli, tmp_path, store_location):
    laptop = str(tmp_path / "laptop.sqlite")
    _plant_history(laptop)
    code, _, err = run_cli("db", "copy", laptop, store_location)
    assert code == 0, err
    # The laptop's history goes on: a run's row changes (as a run still running at the first
    # copy finishes later), and a new evaluation is recorded.
    store = ResultsStore(laptop, create=False)
    run = store.runs()[0]
    with store.transaction() as connection:
        connection.execute(text("UPDATE runs SET reason = 'finished later' WHERE id = :id"), {"id": run.id})
    store.add_evaluation(run.id, 512, 2.5, {"train/loss": 0.5})
    store.close()
    before = _rows(store_location)
    code, _, err = run_cli("db", "copy", laptop, store_location)
    assert code == 2 and "already holds runs row" in err and "columns reason" in err and "--update" in err
    assert _rows(store_location) == before  # nothing, not even the new evaluation
    code, out, err = run_cli("db", "copy", laptop, store_location, "--update", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["updated"] == {"suite_runs": 0, "runs": 1, "evaluations": 0, "metrics": 0}
    assert report["copied"] == {"suite_runs": 0, "runs": 0, "evaluations": 1, "metrics": 0}
    assert _rows(store_location) == _rows(laptop)
    code, out, _ = run_cli("db", "copy", laptop, store_location, "--update")  # up to date: nothing to do
    assert code == 0 and "updated" not in out and "were skipped" in out


def test_a_password_never_leaves_the_url(run_cli, tmp_path, postgres_url):
    """The server trusts local connections, so any password opens it: it must then
    appear in no output, no run folder, no report and no record."""
    secret = "s3cret-pw-7781"
    location = postgres_url.replace("genbench@", f"genbench:{secret}@")
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("run", "-g", "gaussian", "-b", "smoke", "--device", "cpu", "--out", out,
                                   "--db", location)
    assert code == 0, stderr
    code2, stdout2, stderr2 = run_cli("runs", "--db", location)
    assert code2 == 0, stderr2
    said = stdout + stderr + stdout2 + stderr2
    assert secret not in said and "genbench@127.0.0.1" in said
    for path in out.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in json.dumps(_rows(postgres_url))


def test_a_server_that_cannot_be_reached_is_bad_input(run_cli, tmp_path):
    code, _, err = run_cli("runs", "--db", "postgresql://someone:hunter2@127.0.0.1:1/nowhere")
    assert code == 2 and "cannot connect to the results database postgresql://someone@127.0.0.1:1/nowhere" in err
    assert "hunter2" not in err and "Traceback" not in err


def test_a_foreign_or_empty_database_is_refused_untouched(run_cli, postgres_url, postgres_server):
    code, _, err = run_cli("runs", "--db", postgres_url)  # a reader never makes a store
    assert code == 2 and "empty database, not a genbench store" in err
    name = postgres_url.rsplit("/", 1)[1]
    with postgres_server.connect(name) as con:
        assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
        con.execute("CREATE TABLE customers (id integer)")
    for args in (("runs",), ("run", "-g", "gaussian", "-b", "smoke", "--dry-run")):
        code, _, err = run_cli(*args, "--db", postgres_url)
        assert code == 2 and "another application" in err
    with postgres_server.connect(name) as con:
        tables = [r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert tables == ["customers"]


def test_a_run_whose_folder_cannot_be_reached_is_reported_with_its_path(run_cli, tmp_path, postgres_url):
    """Run on another host, with an --out this machine does not see: the report and a
    command that needs the run's files name the folder, the host, and why."""
    from harness import trained
    from harness.errors import UsageError
    from harness.plugins import Host

    elsewhere = tmp_path / "mounted-on-the-cluster-only"
    store = ResultsStore(postgres_url)
    suite_run = plant_suite(store, "remote", {"fd-clocknet": [4.0]}, run_dir=elsewhere)
    (run,) = store.runs(suite_run=suite_run)
    store.start_run(run.id, {}, ProcessId("gpu-node-7", 4242, None))
    store.finish_run(run.id, "ok", {"images_seen": 1000}, [])
    code, _, err = run_cli("report", "--suite", "remote", "--db", postgres_url, "--html", tmp_path / "r.html")
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert f"its run folder {elsewhere} cannot be reached from this machine (it ran on gpu-node-7)" in page
    with pytest.raises(UsageError, match=f"run {run.id}: its run folder {elsewhere} cannot be reached"):
        trained.load(Host(), store.run(run.id), torch.device("cpu"))
    store.close()


def test_another_applications_alembic_database_is_not_taken_for_a_store(run_cli, postgres_url, postgres_server):
    name = postgres_url.rsplit("/", 1)[1]
    with postgres_server.connect(name) as con:
        con.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        con.execute("INSERT INTO alembic_version VALUES ('0002')")
        con.execute("CREATE TABLE metrics (id integer)")
    code, _, err = run_cli("run", "-g", "gaussian", "-b", "smoke", "--dry-run", "--db", postgres_url)
    assert code == 2 and "another application" in err
    with postgres_server.connect(name) as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
        columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                             "WHERE table_name = 'metrics'")]
    assert columns == ["id"]
