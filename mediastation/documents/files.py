"""Only until mediastation/workflows/export_documents.py imports mediastation.files itself: then delete
this module. The station's file helpers live in mediastation.files."""

from __future__ import annotations

from mediastation.files import write_bytes_atomic as write_bytes_atomically

__all__ = ["write_bytes_atomically"]
