"""The billing office's flow at the desk in Debian's firefox-esr (puppeteer-core from tests/firefox,
`make npm`; tests/firefox/billing_check.js drives it): the Chromium flow of tests/test_desk_office.py
on a home of its own (its credit is not the Chromium test's), checked against the CLI the same way:
the Finvoice download is `billing export --format finvoice`'s very bytes, the credit is the CLI's
credit line written by the signed-in person."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

from mediastation.workflows.shipments import today
from support.cli import run_json
from support.desk import PASSWORD, make_home, served
from test_desk_office import PERIOD, _check_finvoice, _created_by, _seed

FIREFOX = Path("/usr/bin/firefox-esr")
FIREFOX_CHECK = Path(__file__).parent / "firefox" / "billing_check.js"


def test_firefox_esr_downloads_finvoice_and_credits_a_line(tmp_path: Path) -> None:
    if not FIREFOX.exists():
        pytest.skip("Debian's firefox-esr is not installed (apt-get install firefox-esr)")
    if shutil.which("node") is None or not (FIREFOX_CHECK.parent / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip("node or puppeteer-core is missing: `make npm` (npm ci --prefix tests/firefox)")
    home = make_home(tmp_path / "home")
    seeded = _seed(home)
    line, reason = seeded["lines"][1], "sent twice (Firefox)"
    with served(home, "--no-worker") as desk:
        done = subprocess.run(["node", str(FIREFOX_CHECK), desk.url, "bill", PASSWORD, *PERIOD, line, reason,
                               str(FIREFOX)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        seen = json.loads(done.stdout)
        assert seen["signInPage"] == "/login" and seen["afterSignIn"] == "/billing"
        assert seen["periodPage"] == f"/billing?from={PERIOD[0]}&to={PERIOD[1]}"
        assert seen["lines"] == seeded["lines"] and seen["gross"] == "125.00"
        assert any("EXAMPLE" in warning for warning in seen["warnings"])  # the example price list is said

        finvoice = seen["finvoice"]
        assert finvoice["href"] == f"/billing/download?format=finvoice&from={PERIOD[0]}&to={PERIOD[1]}"
        assert finvoice["status"] == 200 and finvoice["contentType"] == "application/zip"
        assert finvoice["disposition"] == 'attachment; filename="finvoice_20261101-20261130.zip"'
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(finvoice["base64"]))) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        cli = run_json("billing", "export", "--from", PERIOD[0], "--to", PERIOD[1], "--format", "finvoice", "--out",
                       str(tmp_path / "cli"), home=home)
        assert files == {Path(name).name: Path(name).read_bytes() for name in cli["files"]}  # the CLI's very bytes
        buyers = {_check_finvoice(data).findtext("BuyerPartyDetails/BuyerPartyIdentifier") for data in files.values()}
        assert buyers == {"1234567-1", "2345678-0"}

        assert seen["alert"] is None
        assert seen["afterCredit"] == f"/billing?from={PERIOD[0]}&to={PERIOD[1]}#{line}"
        on = today().isoformat()
        credits = [c for c in run_json("billing", "export", "--from", on, "--to", on, "--format", "json",
                                       home=home)["lines"] if c["credit_of"] == line]
        assert len(credits) == 1 and credits[0]["net"] == "-50.00" and credits[0]["note"].endswith(reason)
        assert credits[0]["line_id"] in seen["credited"]  # the page names the credit line
        assert _created_by(home, credits[0]["line_id"]) == "bill"  # the signed-in person wrote it
        origin = urlparse(desk.url).netloc
        assert all(urlparse(url).netloc == origin for url in seen["requests"] if url.startswith("http"))
        assert seen["dialogs"] == [] and seen["errors"] == []
