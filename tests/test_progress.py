"""Progress bars: on by default, off under KNEXA_PROGRESS=0 (set by the book build for kernels)."""
import os

from knexa_core.progress import ENV, progress, quiet_progress


def test_bars_are_on_by_default_and_off_when_quiet(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert not progress(range(3)).disable
    with quiet_progress():
        assert os.environ[ENV] == "0" and progress(range(3)).disable
    assert ENV not in os.environ and not progress(range(3)).disable


def test_quiet_progress_restores_a_previous_value(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    with quiet_progress():
        pass
    assert os.environ[ENV] == "1"
