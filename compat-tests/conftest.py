"""A live Overcast for the whole compat run: the real ``overcast up`` process, real sockets.

``overcast`` starts ``overcast --data-dir D up --port P`` with a temporary data directory and
HOME (the AWS profile it writes lands there), reads the admin keys from its banner, and at the
end stops it with Ctrl-C (SIGINT), which must exit 0.  Tests marked ``restarts_overcast`` run
last: they stop and restart the same process on the same data directory.

Test modules import what they need from ``helpers`` (never from ``conftest``: tests/ has one too).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import OBJECT_NODES, OVERCAST_TOML, Account, Overcast, OvercastProcess, free_port


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "restarts_overcast: stops and restarts the shared server (runs last)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("restarts_overcast") is not None)


@pytest.fixture(scope="session")
def overcast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Overcast]:
    root = tmp_path_factory.mktemp("overcast")
    home = root / "home"
    home.mkdir()
    (root / "data").mkdir()
    (root / "data" / "overcast.toml").write_text(OVERCAST_TOML)
    process = OvercastProcess(root / "data", home, free_port(1 + OBJECT_NODES))
    process.start()
    try:
        yield Overcast(process)
        assert process.proc is not None
        assert process.proc.poll() is None, \
            f"overcast up died during the run ({process.proc.returncode}):\n{process.output()}"
        code = process.interrupt()
        assert code == 0, f"overcast up exited with {code} on SIGINT (Ctrl-C must stop it cleanly):\n" \
                          f"{process.output()}"
    finally:
        process.kill()


@pytest.fixture(scope="session")
def second_account(overcast: Overcast) -> Account:
    """A second account, made with ``overcast admin create-account second --profile second``."""
    return Account(*overcast.create_account("second", "--profile", "second"))
