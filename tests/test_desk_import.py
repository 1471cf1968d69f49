"""The desk's import pages (docs/desk.md `/imports/new`, `/imports/{id}`, `/api/v1/imports`) against
`mediastation serve` on a free port, a real Orthanc and Debian's Chromium: an importer uploads an
ISO built from generated studies, maps one patient group to a local HETU and leaves the other out,
and the instances arrive in Orthanc under that HETU; axe-core on each import page; and the
protections, each of which fails its test when removed: the importer role (page and API), the
upload limit (nothing stored), the import roots, and a DICOM patient name shown as text."""

from __future__ import annotations

import http.client
import json
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from support.browser import SERIOUS, axe, chromium_browser, visits
from support.cli import run
from support.desk import PASSWORD, PEOPLE, Client, served
from support.orthanc import OrthancServer
from support.damaged_media import other_pixels
from support.outside_media import outside_study, xorriso_iso
from support.synthetic import synthetic_hetu

HETU = "010594Y9032"


def unknown_hetu() -> str:
    """A synthetic HETU the shared test archive has not seen (the page must say it does not know it)."""
    return synthetic_hetu(random.randrange(1_000_000, 3_649_999))
EVIL = "<script>alert(1)</script>"
LIMIT_MB = 1


def station_home(root: Path, pacs: OrthancServer) -> Path:
    """A station pointed at `pacs`, with one import root and a 1 MB upload limit, and the desk's people."""
    home = root / "home"
    done = run("init", "--archive-host", pacs.host, "--archive-port", str(pacs.dicom_port), "--archive-ae",
               pacs.ae_title, home=home)
    assert done.returncode == 0, done.stderr
    config = home / "station.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^port = \d+(\s+# our listening)", rf"port = {pacs.station_port}\1", text)
    text = re.sub(r"(?m)^timeout = [0-9.]+", "timeout = 10.0", text)
    text = re.sub(r"(?m)^upload_limit_mb = \d+", f"upload_limit_mb = {LIMIT_MB}", text)
    text = re.sub(r"(?m)^import_roots = \[\]", f"import_roots = [{json.dumps(str(root / 'roots'))}]", text)
    config.write_text(text + "\n[imports]\ncommitment_timeout = 15.0\n", encoding="utf-8")
    (root / "roots").mkdir()
    for name, roles in PEOPLE.items():
        args = ["users", "add", name, "--password-stdin"] + [item for role in roles for item in ("--role", role)]
        added = run(*args, home=home, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    return home


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, orthanc: OrthancServer) -> Any:
    root = tmp_path_factory.mktemp("desk-import")
    home = station_home(root, orthanc)
    tree = root / "disc"
    tag = uuid.uuid4().hex[:6].upper()
    kept = outside_study(tree, "DICOM/ST1", patient_id=f"JOR-{tag}-1", patient_name="Virtanen^Ville", images=3,
                         series=2)
    evil = outside_study(tree, "DICOM/ST2", patient_id=f"JOR-{tag}-2", patient_name=EVIL, images=2)
    other_pixels(kept.files[0], tree / "BACKUP" / "CONFLICT")  # a copy of one instance with another image
    image = xorriso_iso(tree, root / "outside.iso")
    assert image.stat().st_size < LIMIT_MB * 1024 * 1024
    with served(home) as desk:
        yield {"desk": desk, "home": home, "root": root, "iso": image, "tree": tree, "kept": kept, "evil": evil,
               "pacs": orthanc}


def signed_in(desk: Any, user: str) -> tuple[Client, str]:
    client = Client(desk.url)
    return client, client.sign_in_api(user)


def uploads(home: Path) -> list[Path]:
    """Every upload the desk holds (scans of uploads keep theirs in <scan>/upload/)."""
    return [p for p in (home / "imports" / "desk").glob("*/upload/*") if p.is_file()]


def stored_anywhere(home: Path, data: bytes) -> list[Path]:
    """Files under the station's home that hold a piece of `data`."""
    probe = data[4096:4096 + 64]
    found = []
    for path in home.rglob("*"):
        try:
            if path.is_file() and path.stat().st_size >= len(probe) and probe in path.read_bytes():
                found.append(path)
        except OSError:
            continue
    return found


# -- protections ------------------------------------------------------------------------------------

def test_roles_other_than_importer_get_403_from_import_pages_and_api(world: Any) -> None:
    desk = world["desk"]
    for user in ("tech", "bill"):
        client, csrf = signed_in(desk, user)
        assert client.get("/imports/new").status == 403
        answer = client.post("/api/v1/imports/scans", json_body={"source": str(world["root"] / "roots")},
                             headers={"X-CSRF-Token": csrf})
        assert answer.status == 403 and answer.json()["error"]["code"] == "forbidden"
        answer = client.post("/api/v1/imports/uploads", json_body={"x": 1}, headers={"X-CSRF-Token": csrf})
        assert answer.status == 403
        answer = client.post("/api/v1/imports", json_body={"scan_id": "0" * 20, "map": {"P1": HETU}},
                             headers={"X-CSRF-Token": csrf})
        assert answer.status == 403
    importer, _ = signed_in(desk, "imp")
    assert importer.get("/imports/new").status == 200
    admin, _ = signed_in(desk, "boss")
    assert admin.get("/imports/new").status == 200
    assert uploads(world["home"]) == []


def test_an_upload_without_the_csrf_token_is_refused_before_it_is_stored(world: Any) -> None:
    client, _ = signed_in(world["desk"], "imp")
    data = world["iso"].read_bytes()
    answer = _raw(world["desk"].url, "/api/v1/imports/uploads", data, cookie=_cookie(client))
    assert answer[0] == 403, answer
    assert uploads(world["home"]) == []


def _cookie(client: Client) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.jar)


def _raw(base: str, path: str, body: bytes | list[bytes], *, cookie: str, headers: dict[str, str] | None = None
         ) -> tuple[int, str]:
    """POST `body` as it is (a list: chunked, no Content-Length); (status, body text), or (0, reason)
    when the desk closed the connection before answering."""
    url = urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    sent = {"Cookie": cookie, "Content-Type": "application/octet-stream", **(headers or {})}
    try:
        if isinstance(body, list):
            connection.putrequest("POST", path)
            for name, value in {**sent, "Transfer-Encoding": "chunked"}.items():
                connection.putheader(name, value)
            connection.endheaders()
            for chunk in body:
                connection.send(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
            connection.send(b"0\r\n\r\n")
        else:
            connection.request("POST", path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except (ConnectionError, http.client.HTTPException) as error:
        return 0, repr(error)
    finally:
        connection.close()


def test_an_upload_over_the_limit_is_refused_without_being_stored(world: Any) -> None:
    desk, home = world["desk"], world["home"]
    client, csrf = signed_in(desk, "imp")
    too_big = bytes(range(256)) * (LIMIT_MB * 4096 + 1024)  # 1.25 MB, a pattern findable on disk
    # the API, with its length declared: refused before a byte is read
    status, text = _raw(desk.url, "/api/v1/imports/uploads?name=big.iso", too_big, cookie=_cookie(client),
                        headers={"X-CSRF-Token": csrf})
    assert status == 413, (status, text)
    if status:
        assert json.loads(text)["error"]["code"] == "upload_too_large"
    # a declared length over the limit is refused before the body: the answer comes with none of it sent
    url = urlparse(desk.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("POST", "/api/v1/imports/uploads?name=big.iso")
    for name, value in (("Cookie", _cookie(client)), ("X-CSRF-Token", csrf), ("Content-Length", str(len(too_big))),
                        ("Content-Type", "application/octet-stream")):
        connection.putheader(name, value)
    connection.endheaders()
    assert connection.getresponse().status == 413  # a desk that read on would wait for the body here
    connection.close()
    # chunked, no length: counted while it arrives and refused at the limit
    status, text = _raw(desk.url, "/api/v1/imports/uploads?name=big.iso",
                        [too_big[i:i + 65536] for i in range(0, len(too_big), 65536)], cookie=_cookie(client),
                        headers={"X-CSRF-Token": csrf})
    assert status == 413, (status, text)
    # the page's form (multipart), chunked too
    boundary = "deskboundary1234"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"medium\"; filename=\"big.iso\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + too_big + f"\r\n--{boundary}--\r\n".encode()
    status, text = _raw(desk.url, f"/imports/upload?csrf_token={csrf}",
                        [form[i:i + 65536] for i in range(0, len(form), 65536)], cookie=_cookie(client),
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 413, (status, text)
    time.sleep(0.5)
    assert uploads(home) == []
    assert stored_anywhere(home, too_big) == []
    # a file that is no medium is refused and not kept either
    scans = set((home / "imports" / "desk").glob("*/scan.json"))
    status, text = _raw(desk.url, "/api/v1/imports/uploads?name=setup.exe", b"MZ" + bytes(5000),
                        cookie=_cookie(client), headers={"X-CSRF-Token": csrf})
    assert status == 422 and json.loads(text)["error"]["code"] == "medium_unreadable", text
    assert uploads(home) == [] and set((home / "imports" / "desk").glob("*/scan.json")) == scans
    # and an upload under the limit is taken (the limit is the limit, not "no uploads")
    status, text = _raw(desk.url, "/api/v1/imports/uploads?name=outside.iso", world["iso"].read_bytes(),
                        cookie=_cookie(client), headers={"X-CSRF-Token": csrf})
    assert status == 201, text
    assert json.loads(text)["kind"] == "upload"


def test_a_path_outside_the_import_roots_is_refused(world: Any) -> None:
    client, csrf = signed_in(world["desk"], "imp")
    roots = world["root"] / "roots"
    inside = roots / "disc-copy"
    if not inside.exists():
        inside.symlink_to(world["tree"], target_is_directory=True)  # a link in a root to a folder outside it
    (roots / "ok").mkdir(exist_ok=True)
    for source in (str(world["tree"]), "/etc", str(roots / ".." / "disc"), "../disc", str(inside)):
        answer = client.post("/api/v1/imports/scans", json_body={"source": source}, headers={"X-CSRF-Token": csrf})
        assert answer.status == 422, (source, answer.text)
        assert answer.json()["error"]["code"] == "source_refused", answer.text
    page = client.post("/imports/new", form={"csrf_token": csrf, "kind": "folder", "folder": str(world["tree"])})
    assert page.status == 422 and 'role="alert"' in page.text
    # a folder under the root is read
    (roots / "ok" / "DICOM").mkdir(exist_ok=True)
    for path in world["kept"].files:
        (roots / "ok" / "DICOM" / path.name).write_bytes(path.read_bytes())
    answer = client.post("/api/v1/imports/scans", json_body={"source": "ok"}, headers={"X-CSRF-Token": csrf})
    assert answer.status == 201, answer.text
    assert answer.json()["kind"] == "folder" and answer.json()["counts"]["instance"] == len(world["kept"].files)


def test_a_patient_name_in_a_dicom_header_is_shown_as_text(world: Any) -> None:
    client, csrf = signed_in(world["desk"], "imp")
    status, text = _raw(world["desk"].url, "/api/v1/imports/uploads?name=outside.iso", world["iso"].read_bytes(),
                        cookie=_cookie(client), headers={"X-CSRF-Token": csrf})
    assert status == 201, text
    scan = json.loads(text)
    assert EVIL in [group["name"] for group in scan["patients"]]
    page = client.get(f"/imports/{scan['scan_id']}")
    assert page.status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert EVIL not in page.text


# -- the importer's flow in Chromium ---------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def serious(page) -> list[dict[str, Any]]:
    return [v for v in axe(page) if v["impact"] in SERIOUS]


def archived_under(pacs: OrthancServer, study_uid: str) -> list[dict[str, Any]]:
    study = next((s for s in pacs.rest("/studies?expand") if s["MainDicomTags"]["StudyInstanceUID"] == study_uid), None)
    if study is None:
        return []
    return [pacs.rest(f"/instances/{item['ID']}/tags?simplify") for item in pacs.rest(f"/studies/{study['ID']}/instances")]


def test_an_importer_imports_an_uploaded_iso_through_the_pages(world: Any, chromium) -> None:
    desk, pacs = world["desk"], world["pacs"]
    with visits(chromium, desk) as open_visit:
        visit = open_visit()
        page = visit.page
        page.set_default_timeout(30000)
        visit.sign_in("imp")
        page.click('nav a[href="/imports/new"]')
        page.wait_for_url(desk.url + "/imports/new")
        assert serious(page) == []
        page.fill("#import-folder", "/etc")
        page.click("form.import-folder button[type=submit]")
        assert "/etc" in page.text_content('[role="alert"]')
        assert serious(page) == []  # the page with its refusal
        page.set_input_files("#import-file", str(world["iso"]))
        page.click("form.import-upload button[type=submit]")
        page.wait_for_url(re.compile(r".*/imports/[0-9a-f]{20}$"))
        scan_url = page.url
        scan_path = urlparse(scan_url).path
        assert serious(page) == []
        page.goto(desk.url + "/")  # waiting for its mapping on the importer's home page
        assert page.locator(f'#imports-waiting ~ ul a[href="{scan_path}"]').count() == 1
        page.goto(scan_url)
        groups = {g.get_attribute("data-group"): g.inner_text() for g in page.query_selector_all("section.group")}
        kept_key = next(key for key, text in groups.items() if "Virtanen^Ville" in text)
        evil_key = next(key for key in groups if key != kept_key)
        assert page.text_content(f'section[data-group="{evil_key}"] .patient-name') == EVIL  # text, not markup
        assert len(page.query_selector_all(f'section[data-group="{kept_key}"] img')) == 2  # one picture a series
        width = page.evaluate("img => img.naturalWidth", page.query_selector(f'section[data-group="{kept_key}"] img'))
        assert width > 0
        hetu = unknown_hetu()
        page.fill(f'input[name="hetu.{kept_key}"]', hetu)
        page.check(f'#use-{evil_key}-skip')
        page.click('button[name="action"][value="lookup"]')
        page.wait_for_selector(f'section[data-group="{kept_key}"] p.archive')
        assert page.get_attribute(f'section[data-group="{kept_key}"] p.archive', "data-known") == "no"
        assert serious(page) == []
        page.click('button[name="action"][value="run"]')  # without the name the archive lacks: refused
        assert page.url == scan_url and page.locator('[role="alert"]').count() >= 1
        assert page.get_attribute(f'#name-{kept_key}', "aria-invalid") == "true"  # the field to fix is marked
        assert page.input_value(f'input[name="hetu.{kept_key}"]') == hetu  # what was typed is kept
        assert serious(page) == []  # the page with its refusal
        page.fill(f'input[name="name.{kept_key}"]', "Mäkelä^Aino")
        original = world["kept"].files[0].relative_to(world["tree"]).as_posix()
        page.check(f'fieldset[data-conflict] input[type="radio"][value="{original}"]')  # --prefer the original
        page.click('button[name="action"][value="run"]')
        page.wait_for_url(re.compile(r".*/jobs/[^/]+$"))
        page.wait_for_selector('#job-state[data-state="done"]', timeout=180000)
        page.goto(desk.url + "/")
        assert page.locator(f'a[href="{scan_path}"]').count() == 0  # no longer waiting
        page.goto(scan_url)
        assert serious(page) == []
        receipt = page.get_attribute('a[data-file="receipt.pdf"]', "href")
        assert receipt
        pdf = visit.context.request.get(desk.url + receipt)
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
        visit.assert_clean()  # nothing from outside, no script from the data ran
    kept, evil = world["kept"], world["evil"]
    arrived = archived_under(pacs, kept.info.study_instance_uid)
    assert sorted(i["SOPInstanceUID"] for i in arrived) == sorted(kept.sop_instance_uids)
    assert {i["PatientID"] for i in arrived} == {hetu}
    assert {i["PatientName"] for i in arrived} == {"Mäkelä^Aino"}
    assert archived_under(pacs, evil.info.study_instance_uid) == []  # "do not import"
    job = run("jobs", "list", "--json", home=world["home"])
    listed = json.loads(job.stdout)["jobs"]
    assert any(j["kind"] == "import" and j["state"] == "done" for j in listed)
    shown = [j for j in listed if j["kind"] == "import"]
    detail = json.loads(run("jobs", "show", shown[0]["job_id"], "--json", home=world["home"]).stdout)
    assert detail["result"]["operator"] == "imp"  # the signed-in person is the import's actor
    scan_id = scan_url.rsplit("/", 1)[1]
    assert not (world["home"] / "imports" / "desk" / scan_id / "upload").exists()  # removed when its import ended


def test_the_api_scans_a_folder_under_a_root_and_imports_it_as_the_signed_in_person(world: Any, tmp_path: Path
                                                                                      ) -> None:
    desk, pacs, home = world["desk"], world["pacs"], world["home"]
    client, csrf = signed_in(desk, "boss")  # admin holds every role
    folder = world["root"] / "roots" / "api-disc"
    study = outside_study(folder, "DICOM/ST1", patient_id=f"JOR-{uuid.uuid4().hex[:6]}", images=2)
    answer = client.post("/api/v1/imports/scans", json_body={"source": "api-disc"}, headers={"X-CSRF-Token": csrf})
    assert answer.status == 201, answer.text
    scan = answer.json()
    assert re.fullmatch(r"[0-9a-f]{20}", scan["scan_id"]) and scan["kind"] == "folder" and scan["actor"] == "boss"
    (group,) = scan["patients"]
    (found,) = group["studies"]
    assert [s["instances"] for s in found["series_list"]] == [2]
    assert client.get(f"/api/v1/imports/scans/{scan['scan_id']}").json()["scan_id"] == scan["scan_id"]
    hetu = unknown_hetu()
    refused = client.post("/api/v1/imports", json_body={"scan_id": scan["scan_id"], "map": {group["key"]: hetu}},
                          headers={"X-CSRF-Token": csrf})
    assert refused.status == 422 and refused.json()["error"]["code"] == "import_refused"  # the archive lacks a name
    queued = client.post("/api/v1/imports", json_body={"scan_id": scan["scan_id"], "map": [f"{group['key']}={hetu}"],
                                                       "names": {group["key"]: "Mäkelä^Aino"}},
                         headers={"X-CSRF-Token": csrf})
    assert queued.status == 202, queued.text
    job_id = queued.json()["job_id"]
    deadline = time.monotonic() + 180
    while (job := client.get(f"/api/v1/jobs/{job_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job["state"] == "done", job
    assert job["result"]["operator"] == "boss"
    arrived = archived_under(pacs, study.info.study_instance_uid)
    assert sorted(i["SOPInstanceUID"] for i in arrived) == sorted(study.sop_instance_uids)
    assert {i["PatientID"] for i in arrived} == {hetu}
    assert client.get(f"/api/v1/imports/scans/{scan['scan_id']}").json()["job_id"] == job_id
    missing = client.post("/api/v1/imports", json_body={"scan_id": "f" * 20, "map": {"P1": HETU}},
                          headers={"X-CSRF-Token": csrf})
    assert missing.status == 404
    assert (folder / "DICOM").is_dir()  # a folder source is the importer's: the desk removes only its uploads


FIREFOX = Path("/usr/bin/firefox-esr")
FIREFOX_CHECK = Path(__file__).parent / "firefox" / "import_check.js"


def test_firefox_esr_imports_an_uploaded_iso_through_the_pages(world: Any, tmp_path: Path) -> None:
    """The importer's flow in Debian's firefox-esr (puppeteer-core from tests/firefox, `make npm`),
    with a disc of its own (another import than Chromium's)."""
    import shutil
    import subprocess

    if not FIREFOX.exists():
        pytest.skip("Debian's firefox-esr is not installed (apt-get install firefox-esr)")
    if shutil.which("node") is None or not (FIREFOX_CHECK.parent / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip("node or puppeteer-core is missing: `make npm` (npm ci --prefix tests/firefox)")
    tag = uuid.uuid4().hex[:6]
    kept = outside_study(tmp_path / "disc", "DICOM/ST1", patient_id=f"JOR-{tag}-1", patient_name="Koski^Kalle",
                         images=2)
    other = outside_study(tmp_path / "disc", "DICOM/ST2", patient_id=f"JOR-{tag}-2", patient_name=EVIL, images=1)
    image = xorriso_iso(tmp_path / "disc", tmp_path / "firefox.iso")
    hetu = unknown_hetu()
    done = subprocess.run(["node", str(FIREFOX_CHECK), world["desk"].url, "imp", PASSWORD, str(image), "Koski^Kalle",
                           hetu, "Koski^Kaarlo", str(FIREFOX)], capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["afterSignIn"] == "/imports/new" and re.fullmatch(r"/imports/[0-9a-f]{20}", seen["scanPage"])
    assert sorted(g["name"] for g in seen["groups"]) == sorted(["Koski^Kalle", EVIL])  # the name as text
    assert [g["pictures"] for g in seen["groups"] if g["name"] == "Koski^Kalle"] == [1]
    assert seen["jobPage"].startswith("/jobs/") and seen["jobState"] == "done", seen
    assert seen["receipt"] == f"{seen['jobPage']}/files/receipt.pdf"
    origin = urlparse(world["desk"].url).netloc
    assert all(urlparse(url).netloc == origin for url in seen["requests"] if url.startswith("http"))
    assert seen["dialogs"] == [] and seen["errors"] == []
    arrived = archived_under(world["pacs"], kept.info.study_instance_uid)
    assert sorted(i["SOPInstanceUID"] for i in arrived) == sorted(kept.sop_instance_uids)
    assert {(i["PatientID"], i["PatientName"]) for i in arrived} == {(hetu, "Koski^Kaarlo")}
    assert archived_under(world["pacs"], other.info.study_instance_uid) == []
