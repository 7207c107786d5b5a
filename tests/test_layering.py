"""The one-way import rule of DESIGN.md §3: gateway → ec2api, s3api → core ← hostagents.

``core`` and ``hostagents`` never import the web layers (or starlette); ``ec2api``/``s3api``
never import ``gateway``'s HTTP parts.  Checked on the source with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "overcast"

FORBIDDEN = {
    "core": ("overcast.gateway", "overcast.ec2api", "overcast.s3api", "overcast.hostagents", "overcast.cli",
             "starlette", "uvicorn"),
    "hostagents": ("overcast.gateway", "overcast.ec2api", "overcast.s3api", "overcast.cli", "starlette", "uvicorn"),
    "ec2api": ("overcast.s3api", "overcast.cli", "starlette", "uvicorn", "overcast.gateway.app",
               "overcast.gateway.middleware", "overcast.gateway.codecs"),
    "s3api": ("overcast.ec2api", "overcast.cli", "overcast.gateway.app", "overcast.gateway.middleware"),
}
# The object node serves its internal HTTP API itself; only its server module may use the web stack.
ALLOWED = {"hostagents/objectnode/server.py": ("starlette", "uvicorn")}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _cases() -> list[tuple[str, Path]]:
    return [(layer, path) for layer in FORBIDDEN for path in sorted((ROOT / layer).rglob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), _cases(), ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v)
def test_layer_imports_point_down(layer: str, path: Path) -> None:
    allowed = ALLOWED.get(path.relative_to(ROOT).as_posix(), ())
    forbidden = [prefix for prefix in FORBIDDEN[layer] if prefix not in allowed]
    bad = [(line, mod) for line, mod in imported_modules(path)
           for prefix in forbidden if mod == prefix or mod.startswith(prefix + ".")]
    assert not bad, f"{path.relative_to(ROOT.parent)} imports {bad} (layer {layer} must not)"


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = ROOT / "core" / "_layering_probe.py"
    try:
        bad.write_text("from starlette.requests import Request\nfrom ..gateway import app\n")
        mods = [m for _, m in imported_modules(bad)]
        assert "starlette.requests" in mods and "overcast.gateway" in mods
    finally:
        bad.unlink()
