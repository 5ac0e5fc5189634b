"""Settings are read once and kept until reset; a reset wins over a read still under way
(background threads read the settings while a test or an admin changes them)."""

from __future__ import annotations

import threading

from workbench import settings
from workbench.settings import _Kept


def test_a_value_built_across_a_forget_is_not_kept():
    source = {"value": "old"}
    reading, release = threading.Event(), threading.Event()

    def build():
        value = source["value"]  # read before the change...
        reading.set()
        release.wait(5)  # ...and kept back until after it
        return value

    kept = _Kept(build)
    slow_reader = threading.Thread(target=kept.get)
    slow_reader.start()
    assert reading.wait(5)
    source["value"] = "new"
    kept.forget()
    release.set()
    slow_reader.join(5)
    assert kept.get() == "new"  # not the old value the slow reader built
    source["value"] = "newer"
    assert kept.get() == "new"  # kept until the next forget


def test_reset_settings_reads_the_environment_again(monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB_POOL_SIZE", "3")
    settings.reset_settings()
    assert settings.get_settings().db_pool_size == 3
    assert settings.get_settings() is settings.get_settings()
    monkeypatch.setenv("WORKBENCH_DB_POOL_SIZE", "4")
    assert settings.get_settings().db_pool_size == 3
    settings.reset_settings()
    assert settings.get_settings().db_pool_size == 4
    monkeypatch.delenv("WORKBENCH_DB_POOL_SIZE")
    settings.reset_settings()
