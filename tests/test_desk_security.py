"""The desk's protections (docs/desk.md "Security") against a real `mediastation serve` process.

Each test fails when its protection is taken out of mediastation/desk/ (tried for each: the role
check in auth.require, the CSRF comparison, the lock count in workflows/users.authenticate, the new
session id at sign-in, the header middleware, Jinja's autoescaping)."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support.cli import EXAMPLES, run, run_json
from support.desk import PASSWORD, Client, DeskServer, make_home, served, start_desk
from support.rsyslog import make_test_ca

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory):
    with served(make_home(tmp_path_factory.mktemp("desk-security") / "home"), "--no-worker") as server:
        yield server


def _client(desk: DeskServer) -> Client:
    return Client(desk.url)


def _request(**changes: object) -> dict:
    document = json.loads((EXAMPLES / "first_release.json").read_text(encoding="utf-8"))
    for path, value in changes.items():
        owner, key = path.split(".")
        document[owner][key] = value
    return document


def _signed_in_page(client: Client, user: str, password: str = PASSWORD) -> Client:
    """Sign in through the form, as a browser does (the login page's own CSRF cookie and field)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", form={"user": user, "password": password, "csrf_token": token, "next": "/"})
    assert answer.status == 303, answer.text
    return client


PAGES = ["/", "/requests", "/requests/new", "/requests/R-0000-0000", "/jobs/E-0000"]
API = ["/api/v1/requests", "/api/v1/requests/R-0000-0000", "/api/v1/jobs/E-0000", "/api/v1/jobs"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_redirects_to_sign_in(desk: DeskServer, path: str) -> None:
    answer = _client(desk).get(path)
    assert answer.status == 303
    assert answer.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", API)
def test_the_api_without_a_session_answers_401_json(desk: DeskServer, path: str) -> None:
    answer = _client(desk).get(path)
    assert answer.status == 401
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"] == "sign_in_needed"


def test_an_unknown_or_ended_session_is_no_session(desk: DeskServer) -> None:
    client = _signed_in_page(_client(desk), "tech")
    session = client.cookie("desk_session")
    assert client.get("/requests").status == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    assert client.post("/logout", form={"csrf_token": token}).status == 303
    replay = Client(desk.url)
    replay.jar.set_cookie(_cookie("desk_session", session))
    assert replay.get("/api/v1/requests").status == 401  # sign-out ended it on the server, not only in the browser
    forged = Client(desk.url)
    forged.jar.set_cookie(_cookie("desk_session", "x" * 43))
    assert forged.get("/requests").status == 303


@pytest.mark.parametrize("user,path", [("bill", "/requests"), ("bill", "/requests/new"), ("imp", "/requests"),
                                       ("bill", "/jobs/E-0000")])
def test_a_page_of_another_role_is_403(desk: DeskServer, user: str, path: str) -> None:
    client = _signed_in_page(_client(desk), user)
    answer = client.get(path)
    assert answer.status == 403
    assert "text/html" in answer.headers["Content-Type"]
    assert client.get("/").status == 200  # signed in all the same


def test_the_api_of_another_role_is_403(desk: DeskServer) -> None:
    client = _client(desk)
    csrf = client.sign_in_api("bill")
    assert client.get("/api/v1/requests").status == 403
    answer = client.post("/api/v1/requests", json_body=_request(), headers={"X-CSRF-Token": csrf})
    assert answer.status == 403 and answer.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/jobs").status == 403
    admin = _client(desk)
    admin.sign_in_api("boss")
    assert admin.get("/api/v1/requests").status == 200  # admin holds every role


def test_an_unsafe_request_without_the_csrf_token_is_403_and_does_nothing(desk: DeskServer) -> None:
    client = _client(desk)
    csrf = client.sign_in_api("tech")
    before = len(client.get("/api/v1/requests").json()["requests"])
    document = _request(**{"patient.name": "Virtanen^Csrf"})
    for headers in ({}, {"X-CSRF-Token": "wrong" + csrf[5:]}):
        answer = client.post("/api/v1/requests", json_body=document, headers=headers)
        assert answer.status == 403 and answer.json()["error"]["code"] == "csrf_refused"
    assert len(client.get("/api/v1/requests").json()["requests"]) == before
    page = _signed_in_page(_client(desk), "tech")
    form = {"action": "save", "patient.name": "Virtanen^Csrf", "patient.hetu": "010594Y9032"}
    assert page.post("/requests/new", form=form).status == 403
    assert page.post("/requests/new", form={**form, "csrf_token": csrf}).status == 403  # another session's token
    assert page.post("/logout", form={}).status == 403
    assert page.get("/requests").status == 200  # the refused sign-out ended nothing
    answer = client.post("/api/v1/requests", json_body=document, headers={"X-CSRF-Token": csrf})
    assert answer.status == 201


def test_a_bearer_token_needs_no_cookie_and_no_csrf(desk: DeskServer) -> None:
    token = run_json("users", "token", "tech", home=desk.home)["token"]
    client = _client(desk)
    auth = {"Authorization": f"Bearer {token}"}
    answer = client.post("/api/v1/requests/check", json_body=_request(), headers=auth)
    assert answer.status == 200 and answer.json()["decision"] == "release"
    assert client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token[:-2]}xx"}).status == 401
    assert client.get("/api/v1/requests", headers={"Authorization": f"Basic {token}"}).status == 401
    assert client.cookie("desk_session") is None


def test_five_wrong_passwords_lock_the_name(desk: DeskServer) -> None:
    added = run("users", "add", "locky", "--role", "technician", "--password-stdin", home=desk.home,
                stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    client = _client(desk)
    for attempt in range(4):
        answer = client.post("/api/v1/session", json_body={"user": "locky", "password": f"wrong-{attempt}"})
        assert answer.status == 401 and answer.json()["error"]["reason"] == "wrong"
    assert _client(desk).post("/api/v1/session", json_body={"user": "locky", "password": PASSWORD}).status == 200
    for attempt in range(5):  # a good password started the count again: five more wrong ones lock it
        answer = client.post("/api/v1/session", json_body={"user": "locky", "password": f"wrong-{attempt}"})
    assert answer.json()["error"]["reason"] == "locked"
    answer = client.post("/api/v1/session", json_body={"user": "locky", "password": PASSWORD})
    assert answer.status == 401 and answer.json()["error"]["reason"] == "locked"  # the right password too
    page = _client(desk)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/login").text).group(1)
    refused = page.post("/login", form={"user": "locky", "password": PASSWORD, "csrf_token": form_token})
    assert refused.status == 401 and "lukittu" in refused.text and page.cookie("desk_session") is None
    listed = {u["name"]: u for u in run_json("users", "list", home=desk.home)["users"]}
    assert listed["locky"]["locked_until"] is not None
    run("users", "password", "locky", "--password-stdin", home=desk.home, stdin=PASSWORD + "\n")
    assert _client(desk).post("/api/v1/session", json_body={"user": "locky", "password": PASSWORD}).status == 200


def test_the_session_id_changes_at_sign_in(desk: DeskServer) -> None:
    client = _client(desk)
    planted = "planted-by-someone-else-0123456789abcdefghijk"
    client.jar.set_cookie(_cookie("desk_session", planted))
    client.sign_in_api("tech")
    first = client.cookie("desk_session")
    assert first and first != planted
    _signed_in_page(client, "tech")
    second = client.cookie("desk_session")
    assert second and second != first
    stale = Client(desk.url)
    stale.jar.set_cookie(_cookie("desk_session", first))
    assert stale.get("/api/v1/requests").status == 401  # signing in again ended the session it replaced


def test_the_session_cookie_is_httponly_and_strict(desk: DeskServer) -> None:
    answer = _client(desk).post("/api/v1/session", json_body={"user": "tech", "password": PASSWORD})
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("desk_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would never come back


def test_every_response_carries_the_security_headers(desk: DeskServer) -> None:
    signed = _signed_in_page(_client(desk), "tech")
    answers = {
        "sign-in page": _client(desk).get("/login"),
        "redirect": _client(desk).get("/requests"),
        "401": _client(desk).get("/api/v1/requests"),
        "page": signed.get("/requests/new"),
        "404 page": signed.get("/requests/R-0000-0000"),
        "404 route": signed.get("/nowhere"),
        "403": _signed_in_page(_client(desk), "bill").get("/requests"),
        "static": _client(desk).get("/static/desk.css"),
        "wrong sign-in": _client(desk).post("/api/v1/session", json_body={"user": "tech", "password": "x"}),
    }
    for what, answer in answers.items():
        csp = answer.headers.get("Content-Security-Policy") or ""
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", what
        assert answer.headers.get("Referrer-Policy") == "no-referrer", what
        assert answer.headers.get("X-Frame-Options") == "DENY", what
    assert answers["page"].headers.get("Cache-Control") == "no-store"  # patient data never cached


def test_a_hostile_patient_name_is_text(desk: DeskServer) -> None:
    client = _client(desk)
    csrf = client.sign_in_api("tech")
    added = client.post("/api/v1/requests", json_body=_request(**{"patient.name": EVIL}),
                        headers={"X-CSRF-Token": csrf}).json()
    page = client.get(f"/requests/{added['request_id']}").text
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    listing = client.get("/requests").text
    assert EVIL not in listing and "&lt;script&gt;" in listing


def test_errors_are_json_without_a_trace(desk: DeskServer) -> None:
    client = _client(desk)
    csrf = client.sign_in_api("tech")
    headers = {"X-CSRF-Token": csrf}
    invalid = client.post("/api/v1/requests", json_body={"patient": {"name": 5}}, headers=headers)
    assert invalid.status == 422
    error = invalid.json()["error"]
    assert error["code"] == "invalid_request" and error["problems"] and "Traceback" not in invalid.text
    broken = client.request("POST", "/api/v1/requests", headers={**headers, "Content-Type": "application/json"})
    assert broken.status == 422
    assert client.get("/api/v1/requests/R-0000-0000").json()["error"]["code"] == "not_found"


def _cookie(name: str, value: str):
    import http.cookiejar

    return http.cookiejar.Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None,
                                 False, None, None, {"HttpOnly": None})


def test_desk_home_is_a_real_station(desk: DeskServer) -> None:
    """The requests the tests added at the desk are the CLI's requests (one database)."""
    listed = run_json("request", "list", home=desk.home)["requests"]
    assert any(r["patient_name"] == EVIL and r["added_by"] == "tech" for r in listed)
    assert Path(desk.home, "station.toml").read_text().count("[desk]") == 1


def test_under_tls_the_cookie_is_secure(tmp_path: Path) -> None:
    """[desk] tls_cert/tls_key: HTTPS only, a Secure session cookie, HSTS."""
    home = make_home(tmp_path / "home")
    ca = make_test_ca(tmp_path / "ca")
    config = home / "station.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('tls_cert = ""', f'tls_cert = "{ca.server_cert}"', 1).replace('tls_key = ""', f'tls_key = "{ca.server_key}"', 1)
    config.write_text(text, encoding="utf-8")
    server = start_desk(home, "--no-worker")
    try:
        assert server.url.startswith("https://127.0.0.1:")
        client = Client(server.url, tls=ssl.create_default_context(cafile=str(ca.ca)))
        answer = client.post("/api/v1/session", json_body={"user": "tech", "password": PASSWORD})
        assert answer.status == 200
        cookie = answer.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        assert client.get("/api/v1/requests").status == 200  # the Secure cookie comes back over HTTPS
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(server.url.replace("https://", "http://") + "/login", timeout=10)
    finally:
        server.stop()
