"""The package's layers import only the layers below them (every import, including those inside functions).

engine → units (and physics, beside it) → model → data → training → bench → cli, over the bottom utilities
(errors, argument checks, atomic writes, figures, the allocator and XLA settings), which import only each other.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rhel"
BOTTOM = {"errors", "argcheck", "atomic", "figure", "allocator", "xla_loops", "environment"}
ORDER = ["engine", "units", "model", "data", "training", "bench", "cli"]
#: what each layer may import besides itself; "rhel" is the package's own __init__ (engine and the bottom)
ALLOWED = {name: BOTTOM | set(ORDER[:i]) | ({"rhel"} if i > 0 else set()) for i, name in enumerate(ORDER)}
ALLOWED["physics"] = BOTTOM | {"engine", "rhel"}
ALLOWED["cli"] |= {"physics"}
ALLOWED.update({name: BOTTOM for name in BOTTOM})


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported rhel layer) of every ``import rhel...`` and ``from rhel... import`` in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "rhel":
                found.append((node.lineno, parts[1] if len(parts) > 1 else "rhel"))
    return found


def test_every_module_belongs_to_a_known_layer():
    layers = {_layer(p) for p in SRC.rglob("*.py")} - {"__init__"}
    assert layers <= set(ALLOWED), f"new layers {sorted(layers - set(ALLOWED))}: add them to tests/test_layers.py"
    assert layers >= set(ORDER) | {"physics"}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_the_layers_below(layer):
    files = [p for p in SRC.rglob("*.py") if _layer(p) == layer]
    bad = [f"{p.relative_to(SRC.parent)}:{line} imports rhel.{target}" for p in files
           for line, target in _imports(p) if target not in ALLOWED[layer] | {layer}]
    assert not bad, f"rhel.{layer} may import only {sorted(ALLOWED[layer])}:\n" + "\n".join(bad)


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from rhel.cli.main import main\n    import rhel.data\n")
    assert _imports(module) == [(2, "cli"), (3, "data")]
