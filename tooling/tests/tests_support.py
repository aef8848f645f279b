"""Paths shared by tests."""

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PROJECT_SCHEMAS = PROJECT / "schemas"
