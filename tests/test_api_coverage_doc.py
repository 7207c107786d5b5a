"""docs/api-coverage.md must match the dispatch tables (regenerate with ``make docs``)."""

from __future__ import annotations

from pathlib import Path

from overcast.gateway.coverage import render

DOC = Path(__file__).resolve().parent.parent / "docs" / "api-coverage.md"


def test_api_coverage_doc_is_current() -> None:
    assert DOC.read_text() == render(), "docs/api-coverage.md is stale: run `make docs`"


def test_every_handler_names_a_real_operation() -> None:
    from overcast.gateway.services import default_services

    for name, svc in default_services().items():
        unknown = set(svc.handlers) - set(svc.model.operation_names)
        assert not unknown, f"{name} handlers for operations not in the model: {unknown}"
