"""Fixtures shared by the whole suite."""

import os

import pytest
import torch


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path_factory):
    """Isolate every test from the user's path settings: no OSTRACK_* variables, an empty settings file
    (kept out of the test's own tmp_path, which tests may expect to be empty)."""
    for key in list(os.environ):
        if key.startswith("OSTRACK_"):
            monkeypatch.delenv(key)
    settings = tmp_path_factory.mktemp("settings") / "settings.yaml"
    settings.write_text("{}\n")
    monkeypatch.setenv("OSTRACK_SETTINGS", str(settings))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and OpenMP threads of concurrent processes on a small machine
    otherwise wait on each other (restored after each module)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
