"""What every route of the desk shares: the station's home, settings and database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from mediastation.config import Settings, expand_home, release_policy
from mediastation.store.db import Database


@dataclass
class DeskContext:
    home: Path
    settings: Settings
    database: Database
    tls: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.desk.session_idle_minutes)

    @property
    def station(self) -> str:
        return self.settings.station.name

    @cached_property
    def policy(self) -> Any:
        """The release rules' data (the same `ReleasePolicy` the CLI's `request` commands use)."""
        return release_policy(self.settings, self.home)

    def path(self, value: str) -> Path:
        return Path(expand_home(value, self.home)).expanduser().resolve()

    def export_environment(self) -> Any:
        """The export pipeline's environment, as the CLI builds it (cli/export.py)."""
        from mediastation.workflows.export import ExportEnvironment

        return ExportEnvironment(database=self.database, settings=self.settings, home=self.home,
                                 jobs_folder=self.path(self.settings.export.jobs))

    def transfer_environment(self) -> Any:
        """The transfer pipeline's environment, as the CLI builds it (cli/send.py)."""
        from mediastation.workflows.transfer import TransferEnvironment

        return TransferEnvironment(database=self.database, settings=self.settings, home=self.home,
                                   jobs_folder=self.path(self.settings.export.jobs))

    def burner_names(self) -> list[str]:
        """The burners a technician can choose: the configured devices and the folder burner."""
        section = self.settings.burners
        return ["folder", *(entry.name for entry in section.devices if entry.name != "folder")]
