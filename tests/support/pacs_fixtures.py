"""Fixtures that start a real Orthanc as the PACS (filled in by the harness work)."""
