"""HUS imaging media station: release requests, DICOM media export and import, delivery, billing."""

__version__ = "0.1.0"
