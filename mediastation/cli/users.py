"""`users`: the people who sign in at the desk (`mediastation serve`), their roles and passwords."""

from __future__ import annotations

import sys

import click

from mediastation.cli.context import Station, json_option, pass_station

ROLE_CHOICE = click.Choice(["technician", "importer", "billing", "admin"])


def _password(password_stdin: bool) -> str:
    """The first line of standard input (scripts), else asked twice without echo."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@click.group()
def users() -> None:
    """Desk users: add, list, disable, set a password, make an API token."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, type=ROLE_CHOICE, required=True,
              help="A role (repeatable); admin holds every role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@json_option
@pass_station
def users_add(station: Station, name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Add NAME with its roles and a password."""
    from mediastation.workflows.users import add_user

    user = add_user(station.database(), name, list(roles), _password(password_stdin))
    station.emit(user.to_json(), f"user {user.name} added: {', '.join(user.roles)}")


@users.command("list")
@json_option
@pass_station
def users_list(station: Station) -> None:
    """Every desk user with roles and state."""
    from mediastation.workflows.users import list_users, user_document

    documents = [user_document(row) for row in list_users(station.database())]
    lines = [f"{d['name']:<20} {','.join(d['roles']):<30} "
             f"{'disabled' if d['disabled'] else 'locked' if d['locked_until'] else 'active'}"
             f"{'  token' if d['has_token'] else ''}" for d in documents]
    station.emit({"users": documents}, "\n".join(lines) or "no users; `mediastation users add NAME --role admin`")


@users.command("disable")
@click.argument("name")
@json_option
@pass_station
def users_disable(station: Station, name: str) -> None:
    """NAME can no longer sign in; its sessions and token end (what it did keeps its name)."""
    from mediastation.workflows.users import disable_user

    user = disable_user(station.database(), name)
    station.emit(user.to_json(), f"user {user.name} disabled")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@json_option
@pass_station
def users_password(station: Station, name: str, password_stdin: bool) -> None:
    """A new password for NAME: ends its sessions and any lock, enables a disabled name."""
    from mediastation.workflows.users import set_password

    user = set_password(station.database(), name, _password(password_stdin))
    station.emit(user.to_json(), f"user {user.name}: new password set")


@users.command("token")
@click.argument("name")
@json_option
@pass_station
def users_token(station: Station, name: str) -> None:
    """A new API token for NAME (replaces the old one). It is shown once: keep it."""
    from mediastation.workflows.users import new_token

    token = new_token(station.database(), name)
    station.emit({"name": name, "token": token}, f"{token}\n(shown once: use it as `Authorization: Bearer TOKEN`)")
