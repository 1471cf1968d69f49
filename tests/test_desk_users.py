"""Desk users, sign-in and sessions (workflows/users.py) on SQLite and PostgreSQL, and the `users`
commands as a user runs them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mediastation.store.db import Database
from mediastation.store.users import SessionRepository, UserRepository
from mediastation.workflows import users
from support.cli import run, run_json

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
GOOD = "correct horse battery"


def test_sign_in_with_the_right_password_only(database: Database) -> None:
    users.add_user(database, "anna", ["technician"], GOOD)
    assert users.authenticate(database, "anna", GOOD, now=T0).roles == ("technician",)
    for name, password in (("anna", "wrong password"), ("nobody", GOOD), ("", "")):
        with pytest.raises(users.SignInRefused) as refused:
            users.authenticate(database, name, password, now=T0)
        assert refused.value.reason == "wrong" and "nobody" not in refused.value.message
    stored = UserRepository(database).get("anna").password_hash
    assert stored.startswith("$argon2id$") and GOOD not in stored


def test_five_wrong_passwords_lock_for_fifteen_minutes(database: Database) -> None:
    users.add_user(database, "anna", ["technician"], GOOD)
    for minute in range(5):
        with pytest.raises(users.SignInRefused):
            users.authenticate(database, "anna", "wrong", now=T0 + timedelta(minutes=minute))
    moment = T0 + timedelta(minutes=4)
    with pytest.raises(users.SignInRefused) as refused:
        users.authenticate(database, "anna", GOOD, now=moment + timedelta(minutes=14))
    assert refused.value.reason == "locked"
    assert users.authenticate(database, "anna", GOOD, now=moment + timedelta(minutes=15, seconds=1)).name == "anna"
    assert UserRepository(database).get("anna").failed_logins == 0


def test_a_session_ends_when_idle_signed_out_disabled_or_given_a_new_password(database: Database) -> None:
    anna = users.add_user(database, "anna", ["technician"], GOOD)
    idle = timedelta(minutes=30)
    first = users.start_session(database, anna, now=T0)
    second = users.start_session(database, anna, now=T0)
    assert first.session_id != second.session_id and first.csrf_token != second.csrf_token
    assert SessionRepository(database).get(first.session_id) is None  # only its SHA-256 is stored
    assert users.active_session(database, first.session_id, idle=idle, now=T0 + timedelta(minutes=29)).csrf_token == \
        first.csrf_token
    assert users.active_session(database, first.session_id, idle=idle, now=T0 + timedelta(minutes=60)) is None
    users.end_session(database, second.session_id)
    assert users.active_session(database, second.session_id, idle=idle, now=T0) is None
    third = users.start_session(database, anna, now=T0)
    users.set_password(database, "anna", "another good password")
    assert users.active_session(database, third.session_id, idle=idle, now=T0) is None
    fourth = users.start_session(database, anna, now=T0)
    token = users.new_token(database, "anna")
    users.disable_user(database, "anna")
    assert users.active_session(database, fourth.session_id, idle=idle, now=T0) is None
    assert users.token_user(database, token) is None
    with pytest.raises(users.SignInRefused) as refused:
        users.authenticate(database, "anna", "another good password", now=T0)
    assert refused.value.reason == "disabled"


def test_a_token_is_shown_once_and_a_new_one_replaces_it(database: Database) -> None:
    users.add_user(database, "anna", ["billing", "importer"], GOOD)
    token = users.new_token(database, "anna")
    assert users.token_user(database, token).roles == ("importer", "billing")
    assert UserRepository(database).get("anna").token_hash != token
    newer = users.new_token(database, "anna")
    assert users.token_user(database, token) is None and users.token_user(database, newer).name == "anna"


def test_admin_holds_every_role() -> None:
    admin = users.DeskUser("boss", ("admin",))
    assert all(admin.holds(role) for role in users.ROLES)
    assert not users.DeskUser("bill", ("billing",)).holds("technician")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert run("init", home=home).returncode == 0
    return home


def test_init_tells_how_to_add_the_first_desk_user(tmp_path: Path) -> None:
    first = run("init", home=tmp_path / "home")
    assert "`mediastation users add NAME --role admin`" in first.stdout
    run("users", "add", "anna", "--role", "admin", "--password-stdin", home=tmp_path / "home", stdin=GOOD + "\n")
    again = run_json("init", home=tmp_path / "home")
    assert again["desk_users"] == 1
    assert "users add" not in run("init", home=tmp_path / "home").stdout


def test_users_commands(home: Path) -> None:
    added = run_json("users", "add", "anna", "--role", "technician", "--role", "importer", "--password-stdin",
                     home=home, stdin=GOOD + "\n")
    assert added == {"name": "anna", "roles": ["technician", "importer"], "language": None, "disabled": False}
    again = run("users", "add", "anna", "--role", "admin", "--password-stdin", home=home, stdin=GOOD + "\n")
    assert again.returncode == 1 and "exists already" in again.stderr and "Traceback" not in again.stderr
    short = run("users", "add", "bert", "--role", "admin", "--password-stdin", home=home, stdin="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert run("users", "add", "bert", "--password-stdin", home=home, stdin=GOOD + "\n").returncode == 2  # no role
    assert run("users", "add", "bert", "--role", "cook", home=home).returncode == 2
    token = run_json("users", "token", "anna", home=home)["token"]
    listed = run_json("users", "list", home=home)["users"]
    assert [(u["name"], u["has_token"], u["disabled"]) for u in listed] == [("anna", True, False)]
    assert token not in run("users", "list", home=home).stdout
    assert run_json("users", "disable", "anna", home=home)["disabled"] is True
    assert run("users", "password", "nobody", "--password-stdin", home=home, stdin=GOOD + "\n").returncode == 1
    assert run_json("users", "password", "anna", "--password-stdin", home=home, stdin=GOOD + "\n")["disabled"] is False
