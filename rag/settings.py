"""Settings, read once at the edges (CLI, app, eval) from the environment or a .env file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.feeds import DEFAULT_FEED
from rag.related import SHARE as SEE_ALSO_SHARE

REPO_ROOT = Path(__file__).resolve().parent.parent


def _packaged(name: str, fallback: Path) -> Path:
    """A folder or file shipped as package data (``pressrag_data``), found through importlib.resources,
    so a wheel install finds it as well as a source checkout; ``fallback`` when it is not installed."""
    from importlib import resources

    try:
        path = Path(str(resources.files("pressrag_data").joinpath(name)))
    except Exception:  # noqa: BLE001 - not installed, or an unusual loader: read the checkout
        return fallback
    return path if path.exists() else fallback


# The demo corpus and its gold questions ship inside the wheel (package ``pressrag_data``, made from
# data/ and eval/gold/ by pyproject.toml); a checkout without an install reads them in place.
DEMO_CORPUS = _packaged("corpus", REPO_ROOT / "data" / "corpus")
DEMO_GOLD = _packaged("gold/dev.jsonl", REPO_ROOT / "eval" / "gold" / "dev.jsonl")
# The demo corpus's index, prebuilt by scripts/build_demo_index.py (see rag/demo.py).
DEMO_INDEX = _packaged("demo_index", REPO_ROOT / "data" / "demo_index")


def default_index_dir() -> Path:
    """Per-user data directory: $XDG_DATA_HOME/pressrag/index, else ~/.local/share/pressrag/index."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pressrag" / "index"


def default_cache_dir() -> Path:
    """Per-user cache directory: $XDG_CACHE_HOME/pressrag, else ~/.cache/pressrag."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pressrag"


# The shortest text each length setting may ask for: an answer quotes at least a sentence, and a
# passage in the model's prompt holds at least a notice's title and lead.
_LEAST_CHARS = {"answer_chars": 50, "llm_passage_chars": 100}


class Settings(BaseSettings):
    """Every knob, as PRESSRAG_<NAME> environment variables (or lines of a .env file)."""

    model_config = SettingsConfigDict(env_prefix="PRESSRAG_", env_file=".env", extra="ignore")

    index: Path = Field(default_factory=default_index_dir)
    embed_model: str = "bundled-e5-small"
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    k: int = 8
    # Extractive answers: the characters of quoted text an answer aims for (rag/answer_settings.py).
    # 365 was measured as the best trade between key facts and length on the gold sets.
    answer_chars: int = 365
    # Under an answer, the notices retrieval scored at least this share of the best one's that the answer
    # does not quote ("see also"; rag/related.py; 0: none). Fitted by eval/fit_see_also.py.
    see_also: float = SEE_ALSO_SHARE
    llm: Literal["none", "openai-compatible"] = "none"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_temperature: float = 0.0
    # Notices in the model's prompt and characters per notice. A small local model on a CPU reads
    # ~60 prompt tokens/s (stack-facts.md), so 2 x 1,200 instead of 6 x 3,000 is seconds, not minutes.
    llm_passages: int = 6
    llm_passage_chars: int = 3000
    demo: bool = False  # build the demo corpus at a non-default index location when it has no index
    lock_timeout: float = 600.0  # seconds a writer waits for another writer of the same index
    # Search backend: "faiss" (embedded FAISS + bm25s, the default) or "qdrant" (a server or cluster at
    # PRESSRAG_QDRANT_URL, or Qdrant's embedded local mode in the folder PRESSRAG_QDRANT_PATH).
    store: Literal["faiss", "qdrant"] = "faiss"
    qdrant_url: str = ""
    qdrant_path: str = ""  # a folder; empty: not used
    qdrant_collection: str = "pressrag"
    host: str = "127.0.0.1"
    port: int = 7860
    # Web uploads change what every visitor's answers are built from: off unless the operator says so.
    allow_uploads: bool = False
    cache: Path = Field(default_factory=default_cache_dir)  # PRESSRAG_CACHE; XDG_CACHE_HOME is respected
    e5_dtype: Literal["auto", "bf16", "bfloat16", "fp32", "float32"] = "auto"  # bulk-embedding engine dtype
    # Feed sync (`pressrag sync`). PRESSRAG_FEEDS: a JSON list or URLs separated by commas or spaces.
    feeds: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [DEFAULT_FEED])
    sync_timeout: float = 20.0  # seconds per HTTP request
    sync_retries: int = 3  # extra tries after a network error, timeout or HTTP 5xx, with doubling waits
    sync_attachments: bool = True  # download and index .hwp/.hwpx/.pdf attachments of synced items
    sync_max_attachment_mb: float = 20.0

    @field_validator("feeds", mode="before")
    @classmethod
    def _feed_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in re.split(r"[,\s]+", text) if part]
        return value

    @field_validator("k", "llm_passages")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("answer_chars", "llm_passage_chars")
    @classmethod
    def _enough_chars(cls, value: int, info: ValidationInfo) -> int:
        least = _LEAST_CHARS[info.field_name]
        if value < least:
            raise ValueError(f"must be at least {least} characters")
        return value

    @field_validator("see_also")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError("must be between 0 and 1")
        return value

    @field_validator("port")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("must be between 1 and 65535")
        return value


def current_settings() -> Settings:
    """Settings from the environment alone, for library code with no CLI flags to merge (falls back to
    the defaults when a value is bad: the edge that reads it with flags reports the bad value)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError:
        return Settings.model_construct()


class SettingsProblem(ValueError):
    """A setting has a bad value; the message names it as the user gave it."""


def load_settings(**flags) -> Settings:
    """Settings from the environment with command-line ``flags`` (None = not given) on top.

    A bad value is reported under the name the user typed: ``--k`` when it came from the flag,
    ``PRESSRAG_K`` when it came from the environment or a .env file.
    """
    from pydantic import ValidationError

    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        name = f"--{field.replace('_', '-')}" if field in given else f"PRESSRAG_{field.upper()}"
        value = given.get(field, first.get("input"))
        raise SettingsProblem(f"bad value {value!r} for {name}: {first['msg'].removeprefix('Value error, ')}") from None
