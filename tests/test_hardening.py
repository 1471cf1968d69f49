"""Every fault a clear message, nothing half-done, no silent fall-backs: what a new user runs into,
through the CLI as a subprocess (exit status, stdout's one JSON document, stderr's message)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import run, run_json


def init_home(tmp_path: Path, name: str = "home", *args: str) -> Path:
    home = tmp_path / name
    result = run("init", *args, home=home)
    assert result.returncode == 0, result.stderr
    return home


def refused(result, code: int = 1) -> str:  # type: ignore[no-untyped-def]
    """The one clear message of a refusal: the exit status, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


# -- configuration ----------------------------------------------------------------------------------

def _config_with(home: Path, tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = (home / "station.toml").read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "edited.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("url", ["mysql://x", "postgresql://u@h/db", "sqlite:relative.db", "oracle://x"])
def test_config_check_refuses_a_database_the_station_does_not_run_on(tmp_path: Path, url: str) -> None:
    home = init_home(tmp_path)
    bad = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', f'url = "{url}"'))
    doc = run_json("config", "check", str(bad), home=home, expect=1)
    assert doc["error"]["code"] == "config_invalid"
    assert "database.url" in doc["error"]["message"] and "postgresql+psycopg://" in doc["error"]["message"]
    message = refused(run("--config", str(bad), "request", "list", home=home))
    assert "database.url" in message and "ModuleNotFoundError" not in message


@pytest.mark.parametrize("url", ["sqlite:///{home}/other.db", "postgresql+psycopg://station@db.example/media"])
def test_config_check_passes_the_supported_databases(tmp_path: Path, url: str) -> None:
    home = init_home(tmp_path)
    good = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', f'url = "{url}"'))
    assert run_json("config", "check", str(good), home=home)["ok"] is True


@pytest.mark.parametrize("default, accepted", [
    ("robot9", False), ("robot-epson", False),  # no robot without its device entry (its hot folder)
    ("folder", True), ("optical", True), ("usb", True),
])
def test_config_check_refuses_a_default_burner_that_does_not_exist(tmp_path: Path, default: str,
                                                                  accepted: bool) -> None:
    home = init_home(tmp_path)
    edited = _config_with(home, tmp_path, ('default = "folder"', f'default = "{default}"'))
    if accepted:
        assert run_json("config", "check", str(edited), home=home)["ok"] is True
        return
    doc = run_json("config", "check", str(edited), home=home, expect=1)
    assert "[burners]" in doc["error"]["message"] and repr(default) in doc["error"]["message"]


def test_a_default_burner_named_in_devices_passes_and_a_name_used_twice_does_not(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    device = '\n[[burners.devices]]\nname = "robot9"\nkind = "robot-epson"\npath = "/srv/hot"\n'
    named = _config_with(home, tmp_path, ('default = "folder"', 'default = "robot9"'))
    named.write_text(named.read_text(encoding="utf-8") + device, encoding="utf-8")
    assert run_json("config", "check", str(named), home=home)["ok"] is True
    named.write_text(named.read_text(encoding="utf-8") + device, encoding="utf-8")
    doc = run_json("config", "check", str(named), home=home, expect=1)
    assert "'robot9' is used more than once" in doc["error"]["message"]


def test_several_problems_come_one_per_line(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    bad = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', 'url = "mysql://x"'),
                       ('default = "folder"', 'default = "robot9"'))
    lines = refused(run("config", "check", str(bad), home=home)).splitlines()
    assert len(lines) == 3 and lines[0].endswith("edited.toml:")
    assert "database.url" in lines[1] and "[burners]" in lines[2]


# -- a station home and its configuration file must exist --------------------------------------------

def test_a_missing_config_file_is_refused_not_replaced_by_defaults(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    missing = tmp_path / "nowhere.toml"
    message = refused(run("--config", str(missing), "request", "list", home=home))
    assert str(missing) in message and "no such file" in message
    doc = run_json("--config", str(missing), "config", "show", home=home, expect=1)
    assert doc["error"]["code"] == "config_invalid"


@pytest.mark.parametrize("command", [
    ("request", "list"), ("log", "verify"), ("shipments", "list"), ("config", "show"), ("jobs", "list"),
    ("export", "R-AAAA-BBBB"), ("billing", "export", "--from", "2026-01-01", "--to", "2026-01-31", "--format", "json"),
])
def test_a_home_never_initialised_is_refused(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = tmp_path / "never"
    doc = run_json(*command, home=home, expect=1)
    assert doc["error"]["code"] == "not_a_station_home"
    assert "not a station home" in doc["error"]["message"] and "mediastation init" in doc["error"]["message"]
    assert not home.exists(), "nothing is created in passing"


def test_a_sqlite_database_never_initialised_is_refused(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    other = _config_with(home, tmp_path, ('url = "sqlite:///{home}/station.db"', 'url = "sqlite:///{home}/new.db"'))
    doc = run_json("--config", str(other), "request", "list", home=home, expect=1)
    assert doc["error"]["code"] == "not_a_station_home" and "new.db" in doc["error"]["message"]
    assert not (home / "new.db").exists()


def test_commands_that_need_no_home_still_run_without_one(tmp_path: Path) -> None:
    home = tmp_path / "never"
    assert run("--help", home=home).returncode == 0
    assert run("fileset", "--help", home=home).returncode == 0
    config = init_home(tmp_path) / "station.toml"
    assert run_json("config", "check", str(config), home=home)["ok"] is True
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_json("import", "scan", str(empty), home=home)["files"] == []
    assert not home.exists()


# -- the export: every refusal before the first byte, disk errors exit 3 ----------------------------

FIRST_RELEASE = Path(__file__).resolve().parents[1] / "examples" / "first_release.json"


@pytest.fixture(scope="module")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home made by `init --samples` once per module; each test works on its own copy."""
    return init_home(tmp_path_factory.mktemp("template"), "home", "--samples")


@pytest.fixture
def sample_home(sample_template: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(sample_template, home)
    return home


def add_request(home: Path, tmp_path: Path, **changes: object) -> str:
    request = json.loads(FIRST_RELEASE.read_text(encoding="utf-8"))
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = request
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    file = tmp_path / f"request-{len(list(tmp_path.glob('request-*')))}.json"
    file.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    doc = run_json("request", "add", str(file), home=home)
    assert doc["decision"] == "release", doc
    return doc["request_id"]


def nothing_recorded(home: Path, out: Path | None = None) -> None:
    """Nothing retrieved, written, logged, shipped, billed or queued."""
    assert run_json("log", "patient", "010594Y9032", home=home)["disclosures"] == []
    assert run_json("shipments", "list", home=home)["shipments"] == []
    assert run_json("billing", "export", "--from", "2000-01-01", "--to", "2100-12-31", "--format", "json",
                    home=home)["lines"] == []
    assert run_json("jobs", "list", home=home)["jobs"] == []
    jobs = home / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir())
    if out is not None:
        assert not out.exists() or not any(out.iterdir())


BROKEN_PRICE_LIST = 'status = "in_force"\ncurrency = "EUR"\n[events]\npostage = ["STAMP"]\n'


@pytest.mark.parametrize("queue", [False, True], ids=["run", "queue"])
def test_an_invalid_price_list_refuses_the_export_before_anything_is_made(sample_home: Path, tmp_path: Path,
                                                                          queue: bool) -> None:
    request_id = add_request(sample_home, tmp_path)
    (sample_home / "price_list.toml").write_text(BROKEN_PRICE_LIST, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    doc = run_json("export", request_id, "--to", str(out), *(["--queue"] if queue else []), home=sample_home,
                   expect=1)
    assert doc["error"]["code"] == "price_list_invalid"
    nothing_recorded(sample_home, out)


def test_a_price_list_that_does_not_cover_today_refuses_the_export(sample_home: Path, tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path)
    price_list = sample_home / "price_list.toml"
    text = price_list.read_text(encoding="utf-8")
    price_list.write_text(text.replace("# valid_to = 2026-12-31", "valid_to = 2026-01-31"), encoding="utf-8")
    doc = run_json("export", request_id, "--to", str(tmp_path), home=sample_home, expect=1)
    assert doc["error"]["code"] == "price_list_invalid" and "in force on" in doc["error"]["message"]
    nothing_recorded(sample_home)


@pytest.mark.parametrize("args, code, says", [
    (("--burner", "robot9"), "config_invalid", "no burner named 'robot9'"),
    (("--burner", "usb"), "export_refused", "cannot write a cd medium"),           # a stick writes USB only
    (("--burner", "optical", "--medium", "usb"), "export_refused", "cannot write a usb medium"),
])
def test_a_burner_that_cannot_write_it_refuses_the_export_before_anything_is_made(
        sample_home: Path, tmp_path: Path, args: tuple[str, ...], code: str, says: str) -> None:
    request_id = add_request(sample_home, tmp_path)
    for queue in ((), ("--queue",)):
        doc = run_json("export", request_id, *args, *queue, home=sample_home, expect=1)
        assert doc["error"]["code"] == code and says in doc["error"]["message"]
    nothing_recorded(sample_home)


def test_missing_sender_details_refuse_the_export_before_anything_is_made(sample_home: Path, tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path)
    config = sample_home / "station.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('street = "PL 224"', 'street = ""'), encoding="utf-8")
    doc = run_json("export", request_id, "--to", str(tmp_path), home=sample_home, expect=1)
    assert "[sender]" in doc["error"]["message"] and "street" in doc["error"]["message"]
    nothing_recorded(sample_home)


def test_an_image_already_in_the_target_folder_refuses_the_export_first(sample_home: Path, tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    taken = out / f"HUS{request_id.removeprefix('R-').replace('-', '')}_1.iso"
    taken.write_bytes(b"someone else's image")
    doc = run_json("export", request_id, "--to", str(out), home=sample_home, expect=1)
    assert str(taken) in doc["error"]["message"]
    assert taken.read_bytes() == b"someone else's image"
    assert run_json("jobs", "list", home=sample_home)["jobs"] == []


def test_export_to_a_folder_that_does_not_exist_is_refused_unless_mkdir(sample_home: Path, tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path)
    missing = tmp_path / "media" / "usb-stick" / "deep"
    doc = run_json("export", request_id, "--to", str(missing), home=sample_home, expect=1)
    assert str(missing) in doc["error"]["message"] and "--mkdir" in doc["error"]["message"]
    assert not (tmp_path / "media").exists()
    nothing_recorded(sample_home)
    done = run_json("export", request_id, "--to", str(missing), "--mkdir", home=sample_home, timeout=600)
    assert done["state"] == "done" and Path(done["media"][0]["image"]).parent == missing


def test_a_request_named_otherwise_than_the_archive_is_refused(sample_home: Path, tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path, patient__name="<script>alert(1)</script>^Aino")
    doc = run_json("export", request_id, "--to", str(tmp_path), home=sample_home, expect=1)
    assert doc["error"]["code"] == "export_refused"
    assert any("patient name" in m and "Mäkelä^Aino" in m for m in doc["error"]["mismatches"])
    assert run_json("log", "patient", "010594Y9032", home=sample_home)["disclosures"] == []


# -- disk errors: exit 3 with the path and what to do, --json still one document ---------------------

@contextlib.contextmanager
def tmpfs(folder: Path, *options: str):  # type: ignore[no-untyped-def]
    """A real small file system at `folder` (root only); unmounted afterwards whatever happens."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _jobs_folder(home: Path, folder: Path) -> None:
    config = home / "station.toml"
    text = config.read_text(encoding="utf-8").replace('jobs = "{home}/jobs"', f'jobs = "{folder}"')
    config.write_text(text, encoding="utf-8")


def test_a_full_disk_during_an_export_is_exit_3_with_the_path_and_the_export_resumes(sample_home: Path,
                                                                                     tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path)
    with tmpfs(tmp_path / "small", "size=3m") as small:
        _jobs_folder(sample_home, small)
        out = tmp_path / "out"
        out.mkdir()
        result = run("export", request_id, "--to", str(out), "--json", home=sample_home, timeout=600)
        assert result.returncode == 3, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "disk_failed" and error["errno_name"] == "ENOSPC"
        assert str(small) in error["message"] and "free space" in error["message"]
        assert error["job_id"] and error["state"] == "failed"
        plain = run("export", request_id, "--to", str(out), home=sample_home, timeout=600)
        assert plain.returncode == 3 and "Traceback" not in plain.stderr and str(small) in plain.stderr
        assert run_json("log", "patient", "010594Y9032", home=sample_home)["disclosures"] == []
        subprocess.run(["mount", "-o", "remount,size=256m", str(small)], check=True)
        done = run_json("export", request_id, "--to", str(out), home=sample_home, timeout=600)
        assert done["state"] == "done" and done["job_id"] == error["job_id"]
        assert len(run_json("log", "patient", "010594Y9032", home=sample_home)["disclosures"]) == 1


def test_a_read_only_jobs_folder_is_exit_3_with_the_path(sample_home: Path, tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path)
    with tmpfs(tmp_path / "ro", "size=1m", "ro") as read_only:
        _jobs_folder(sample_home, read_only)
        doc = run_json("export", request_id, "--to", str(tmp_path), home=sample_home, expect=3)
        assert doc["error"]["code"] == "disk_failed" and doc["error"]["errno_name"] == "EROFS"
        assert str(read_only) in doc["error"]["message"] and "read-only" in doc["error"]["message"]


def test_a_disk_error_of_any_command_is_exit_3_with_the_path(sample_home: Path, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "size=1m", "ro") as read_only:
        target = read_only / "lines.csv"
        doc = run_json("billing", "export", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json",
                       "--out", str(target), home=sample_home, expect=3)
        assert doc["error"]["code"] == "disk_failed" and str(target) in doc["error"]["message"]
        assert ".part" not in doc["error"]["message"] and "read-only" in doc["error"]["message"]


# -- billing export's --out ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, out_is", [("csv", "dir"), ("json", "dir"), ("finvoice", "file")])
def test_billing_export_out_of_the_wrong_kind_is_a_sentence_not_an_errno(sample_home: Path, tmp_path: Path,
                                                                         fmt: str, out_is: str) -> None:
    out = tmp_path / "out"
    if out_is == "dir":
        out.mkdir()
    else:
        out.write_text("earlier export\n", encoding="utf-8")
    result = run("billing", "export", "--from", "2026-01-01", "--to", "2026-12-31", "--format", fmt,
                 "--out", str(out), home=sample_home)
    message = refused(result, 1)
    assert f"--out {out}" in message and ("folder" in message and "file" in message)
    assert "Errno" not in message and ".part" not in message


def test_the_first_release_example_is_the_demo_request() -> None:
    """examples/first_release.json (the README's) asks for the studies `init --samples` makes."""
    from mediastation.workflows.samples import demo_request

    assert json.loads(FIRST_RELEASE.read_text(encoding="utf-8")) == demo_request()


# -- what a user sees ---------------------------------------------------------------------------------

def test_a_missing_report_warning_is_in_the_result_and_always_printed(sample_home: Path, tmp_path: Path) -> None:
    """[reports] missing = "warn" (the default): neither sample study has a report."""
    request_id = add_request(sample_home, tmp_path)
    result = run("export", request_id, "--to", str(tmp_path), "--json", home=sample_home, timeout=600)
    assert result.returncode == 0, result.stderr
    warnings = json.loads(result.stdout)["warnings"]
    assert len(warnings) == 1 and "no report for HUSDEMO001, HUSDEMO002" in warnings[0]
    assert f"warning: {warnings[0]}" in result.stderr.splitlines()


def test_devices_lists_the_default_folder_burner(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    doc = run_json("devices", home=home)
    assert doc["burners"] == [{"name": "folder", "kind": "folder", "device": str(home.resolve() / "outbox"),
                               "default": True}]
    assert "burner folder (folder)" in run("devices", home=home).stdout


def test_config_show_prints_the_settings_in_force_as_valid_toml(tmp_path: Path) -> None:
    import tomllib

    from mediastation.config import parse_settings, release_policy

    home = init_home(tmp_path)
    config = home / "station.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[[burners.devices]]\nname = "robot"\n'
                      'kind = "robot-epson"\npath = "{home}/hot"\nshare_prefixes = { "/srv" = "\\\\\\\\PC\\\\share" }\n',
                      encoding="utf-8")
    text = run("config", "show", home=home).stdout
    assert "None" not in text and "True" not in text and "{home}" not in text.split("\n", 2)[2]
    shown = tomllib.loads(text)
    settings = parse_settings(shown, source="config show")  # what it prints, station.toml could hold
    assert shown["archive"]["path"] == str(home.resolve() / "archive")
    assert shown["burners"]["devices"][0]["path"] == str(home.resolve() / "hot")
    assert shown["burners"]["devices"][0]["share_prefixes"] == {"/srv": "\\\\PC\\share"}
    assert [r["code"] for r in shown["release"]["registers"]][:2] == ["HUS-yhtyma", "Kymenlaakso"]
    assert "accident-insurance" in [b["code"] for b in shown["release"]["legal_bases"]]
    in_force = release_policy(parse_settings({}), home)
    assert release_policy(settings, home) == in_force  # the lists printed are the lists in force
    doc = run_json("config", "show", home=home)
    assert doc["effective"] == shown


def test_lists_have_column_headers(sample_home: Path, tmp_path: Path) -> None:
    assert run("request", "list", home=sample_home).stdout.strip() == "no requests"
    request_id = add_request(sample_home, tmp_path)
    header, row = run("request", "list", home=sample_home).stdout.splitlines()
    assert header.split()[:5] == ["request", "received", "decision", "channel", "state"]
    assert row.startswith(request_id) and "2026-11-26 09:12" in row  # Helsinki time, as received
    assert row.index("release") == header.index("decision")
    run_json("export", request_id, "--to", str(tmp_path), home=sample_home, timeout=600)
    header, row = run("shipments", "list", home=sample_home).stdout.splitlines()
    assert header.split() == ["shipment", "state", "request", "posted", "due", "tracking", "recipient"]
    assert row.index("prepared") == header.index("state") and row.index(request_id) == header.index("request")


def test_the_actor_is_the_person_when_the_account_names_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from mediastation.cli.request import actor

    monkeypatch.delenv("MEDIASTATION_USER", raising=False)
    names = {"lvirtanen": "Liisa Virtanen", "root": "root", "svc": ""}
    assert actor(None, login="lvirtanen", full_name=names.get) == "Liisa Virtanen (lvirtanen)"
    assert actor(None, login="root", full_name=names.get) == "root"
    assert actor(None, login="svc", full_name=names.get) == "svc"
    assert actor("Sari Laine", login="lvirtanen", full_name=names.get) == "Sari Laine"
    monkeypatch.setenv("MEDIASTATION_USER", "Pekka Post")
    assert actor(None, login="lvirtanen", full_name=names.get) == "Pekka Post"


def test_an_empty_folder_scan_says_there_are_no_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    lines = run("import", "scan", str(empty), home=tmp_path / "never").stdout.splitlines()
    assert "files: none" in lines and not any(line.rstrip() == "files:" for line in lines)


def test_the_disc_label_names_the_file_set_and_the_request(sample_home: Path, tmp_path: Path) -> None:
    request_id = add_request(sample_home, tmp_path)
    doc = run_json("export", request_id, "--to", str(tmp_path), home=sample_home, timeout=600)
    (medium,) = doc["media"]
    label = subprocess.run(["pdftotext", "-layout", medium["label"], "-"], capture_output=True, text=True,
                           timeout=60).stdout
    assert medium["fileset_id"] in label and request_id in label
    assert "1/1" not in label  # the disc number is for spanned sets only


def test_finvoice_names_the_buyer_by_its_business_id_and_warns_of_payers_without_one(sample_home: Path,
                                                                                     tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    request_id = add_request(sample_home, tmp_path)
    run_json("export", request_id, "--to", str(tmp_path), home=sample_home, timeout=600)
    period = ("--from", "2000-01-01", "--to", "2100-12-31", "--format", "finvoice")
    result = run("billing", "export", *period, "--out", str(tmp_path / "fin1"), "--json", home=sample_home)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (unnamed,) = [w for w in doc["warnings"] if "business ID" in w]
    assert "Terveystalo Kamppi" in unnamed and f"warning: {unnamed}" in result.stderr
    (path,) = doc["files"]
    buyer = ET.parse(path).getroot().find("BuyerPartyDetails")
    assert buyer.find("BuyerPartyIdentifier") is None and buyer.findtext("BuyerOrganisationName") == "Terveystalo Kamppi"
    price_list = sample_home / "price_list.toml"
    price_list.write_text(price_list.read_text(encoding="utf-8")
                          + '\n[[payers]]\nname = "Terveystalo Kamppi"\nbusiness_id = "0112038-9"\n', encoding="utf-8")
    doc = run_json("billing", "export", *period, "--out", str(tmp_path / "fin2"), home=sample_home)
    assert not [w for w in doc.get("warnings", []) if "business ID" in w]
    (path,) = doc["files"]
    assert ET.parse(path).getroot().findtext("BuyerPartyDetails/BuyerPartyIdentifier") == "0112038-9"


# -- the README's own example, exactly as written --------------------------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"
README_REQUEST_ID = "R-7K2M-Q9XD"  # the README's example id: the id `request add` printed goes in its place


def readme_first_disc() -> list[list[str]]:
    """The commands of the README's first-disc block ("The first disc, on a fresh home ...")."""
    text = README.read_text(encoding="utf-8")
    block = text.split("The first disc, on a fresh home", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_the_readme_first_disc_runs_as_written_on_a_fresh_home(tmp_path: Path) -> None:
    """From the repository's folder, on a home that does not exist yet: a verified disc, logged."""
    work = tmp_path / "clone"
    work.mkdir()
    (work / "examples").symlink_to(FIRST_RELEASE.parent)  # run "from this folder", without writing into it
    env = {**os.environ, "MEDIASTATION_HOME": str(tmp_path / "home")}
    env.pop("MEDIASTATION_USER", None)
    commands = readme_first_disc()
    assert [c[:2] for c in commands] == [["mediastation", "init"], ["mediastation", "request"],
                                         ["mediastation", "request"], ["mediastation", "export"],
                                         ["mediastation", "log"]]
    request_id = None
    for command in commands:
        args = [request_id if arg == README_REQUEST_ID else arg for arg in command[1:]]
        result = subprocess.run([sys.executable, "-m", "mediastation", *args], cwd=work, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        if command[1:3] == ["request", "check"]:
            assert result.stdout.startswith("release via cd")
        if command[1:3] == ["request", "add"]:
            request_id = re.match(r"(R-[0-9A-Z]{4}-[0-9A-Z]{4}): release via cd", result.stdout).group(1)
    (image,) = (work / "discs").glob("*.iso")
    assert image.stat().st_size > 1_000_000 and list((work / "discs").glob("*_letter.pdf"))
    assert "to Terveystalo Kamppi via cd" in result.stdout and "HUSDEMO001" in result.stdout  # log patient


def test_the_example_price_list_is_warned_of_but_never_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run("init", "--json", home=home)
    assert first.returncode == 0
    (warning,) = json.loads(first.stdout)["warnings"]
    assert "EXAMPLE" in warning and str(home.resolve() / "price_list.toml") in warning
    assert f"warning: {warning}" in first.stderr
    assert run_json("config", "check", str(home / "station.toml"), home=home)["warnings"] == [warning]
    period = ("--from", "2026-01-01", "--to", "2026-12-31")
    assert run_json("billing", "export", *period, "--format", "json", home=home)["warnings"] == [warning]
    price_list = home / "price_list.toml"
    price_list.write_text(price_list.read_text(encoding="utf-8").replace('status = "example"', 'status = "in_force"'),
                          encoding="utf-8")
    assert "warnings" not in run_json("config", "check", str(home / "station.toml"), home=home)
    quiet = run("billing", "export", *period, "--format", "json", home=home)
    assert quiet.returncode == 0 and "warning" not in quiet.stderr and "warnings" not in json.loads(quiet.stdout)
