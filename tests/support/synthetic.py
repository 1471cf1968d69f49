"""Synthetic studies for the tests: the station's own sample generator (mediastation.dicom.samples)."""

from mediastation.dicom.samples import (  # noqa: F401  (re-exported for the tests)
    COMPRESSED,
    FINNISH_NAMES,
    INSTITUTION,
    SOP_CLASSES,
    TRANSFER_SYNTAXES,
    UNCOMPRESSED,
    StudyInfo,
    make_study,
    synthetic_hetu,
    synthetic_hetus,
)
