"""The desk as a user meets it: `mediastation serve` as a process on a free port, against a home
set up with `mediastation init --samples` (the demo's studies in the folder archive), with people
added by `mediastation users add`; and a small HTTP client with its own cookies."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from support.cli import run

PASSWORD = "desk-test-password"
PEOPLE = {"tech": ["technician"], "bill": ["billing"], "imp": ["importer"], "boss": ["admin"]}


def form_fields(document: dict, prefix: str = "") -> dict[str, str]:
    """A request document as the desk's form fields (`patient.name`, `studies.0.register`, ...)."""
    fields: dict[str, str] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            fields.update(form_fields(value, name + "."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                fields.update(form_fields(item, f"{name}.{index}."))
        elif isinstance(value, bool):
            fields[name] = "true" if value else "false"
        elif value is not None:
            fields[name] = str(value)
    return fields


def make_home(home: Path) -> Path:
    done = run("init", "--samples", home=home, timeout=300)
    assert done.returncode == 0, done.stderr
    for name, roles in PEOPLE.items():
        args = ["users", "add", name, "--password-stdin"]
        for role in roles:
            args += ["--role", role]
        added = run(*args, home=home, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    return home


@dataclass
class DeskServer:
    home: Path
    url: str
    process: subprocess.Popen[str]
    log: Path

    def stop(self) -> None:
        """SIGTERM by pid (uvicorn's own graceful stop, which also stops the desk's worker)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_desk(home: Path, *extra: str) -> DeskServer:
    log = home / f"desk-{len(list(home.glob('desk-*.log')))}.log"
    with log.open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "mediastation", "--home", str(home), "serve", "--port", "0",
                                    "--json", *extra], stdout=subprocess.PIPE, stderr=err, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        process.wait(10)
        raise AssertionError(f"the desk did not start: {log.read_text()}")
    return DeskServer(home, json.loads(line)["url"].rstrip("/"), process, log)


@contextmanager
def served(home: Path, *extra: str) -> Iterator[DeskServer]:
    """The desk on `home` while the block runs; it must not have logged a traceback."""
    server = start_desk(home, *extra)
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.stderr(), server.stderr()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Client:
    """A browser without a browser: cookies kept, redirects not followed (the tests look at them)."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    tls: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.jar), NoRedirect]
        if self.tls is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self.tls))
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, method: str, path: str, *, json_body: Any = None, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        data, sent = None, dict(headers or {})
        if json_body is not None:
            data, sent["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read())

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def sign_in_api(self, user: str, password: str = PASSWORD) -> str:
        answer = self.post("/api/v1/session", json_body={"user": user, "password": password})
        assert answer.status == 200, answer.text
        return answer.json()["csrf_token"]
