"""Devices that write or read media, behind one small interface (`burners.base.Burner`).

Nothing here knows DICOM or the database: burners move bytes, check them, and say clearly what the
operator or the device must do when that fails.
"""

from burners.base import (
    BURNER_KINDS, DEFAULT_CAPACITY_BYTES, Burner, BurnerError, DriveError, DriveStatus, MediaState,
    MediumNotBlank, MediumTooSmall, MediumUnsuitable, NoMedium, ProgressCallback, RobotError, RobotTimeout,
    UnsupportedWrite, VerificationFailed, WrittenMedium,
)
from burners.factory import open_burner
from burners.folder import FolderBurner

__all__ = [
    "BURNER_KINDS", "DEFAULT_CAPACITY_BYTES", "Burner", "BurnerError", "DriveError", "DriveStatus", "FolderBurner",
    "MediaState", "MediumNotBlank", "MediumTooSmall", "MediumUnsuitable", "NoMedium", "ProgressCallback",
    "RobotError", "RobotTimeout", "UnsupportedWrite", "VerificationFailed", "WrittenMedium", "open_burner",
]
