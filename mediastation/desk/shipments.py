"""The desk's shipments pages and API routes (../shared/docs/desk.md); words in mediastation/desk/words/shipments.py."""

from __future__ import annotations

from fastapi import APIRouter

from mediastation.desk.render import MenuItem

router = APIRouter()
MENU: tuple[MenuItem, ...] = ()
