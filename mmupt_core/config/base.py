"""What every config section shares: unknown keys and bad assignments fail, and the error type the loader raises."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigError(ValueError):
    """A config that cannot be loaded; the message names the file, the field and the value."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
