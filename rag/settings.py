"""Settings, read once at the edges (CLI, app, eval) from the environment or a .env file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CORPUS = REPO_ROOT / "data" / "corpus"


def default_index_dir() -> Path:
    """Per-user data directory: $XDG_DATA_HOME/pressrag/index, else ~/.local/share/pressrag/index."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pressrag" / "index"


class Settings(BaseSettings):
    """Every knob, as PRESSRAG_<NAME> environment variables (or lines of a .env file)."""

    model_config = SettingsConfigDict(env_prefix="PRESSRAG_", env_file=".env", extra="ignore")

    index: Path = Field(default_factory=default_index_dir)
    embed_model: str = "bundled-e5-small"
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    k: int = 8
    llm: Literal["none", "openai-compatible"] = "none"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_temperature: float = 0.0
    host: str = "127.0.0.1"
    port: int = 7860

    @field_validator("k")
    @classmethod
    def _positive_k(cls, value: int) -> int:
        if value < 1:
            raise ValueError("PRESSRAG_K must be at least 1")
        return value

    @field_validator("port")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("PRESSRAG_PORT must be between 1 and 65535")
        return value
