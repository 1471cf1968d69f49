"""The desk's admin pages and API routes (../shared/docs/desk.md); words in mediastation/desk/words/admin.py."""

from __future__ import annotations

from fastapi import APIRouter

from mediastation.desk.render import MenuItem

router = APIRouter()
MENU: tuple[MenuItem, ...] = ()
