"""Conventions the layout depends on, checked rather than remembered.

- Views and viewsets read through `access` and `selectors` and write through services:
  they never touch a model's manager, import a model class, or query a related manager.
- Imports run down the house: services never import the API or the views, and nothing
  below the views imports them.
"""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "annotations"
VIEW_MODULES = sorted([
    *APP.glob("views*.py"), APP / "api" / "views.py", APP / "api" / "partner.py", APP / "publishing" / "views.py",
])
MANAGER_ATTRIBUTES = {"objects", "_default_manager", "_base_manager"}


def _models():
    return list(apps.get_app_config("annotations").get_models())


def _related_accessors() -> set[str]:
    """Names like `claim.sources`, `workspace.articles`: reverse relations of our models."""
    names = set()
    for model in _models():
        for relation in model._meta.related_objects:
            names.add(relation.get_accessor_name())
        for field in model._meta.many_to_many:
            names.add(field.name)
    return names


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    model_names = {model.__name__ for model in _models()}
    accessors = _related_accessors()
    found = []
    for node in ast.walk(tree):
        where = f"{_shown(path)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and node.attr in MANAGER_ATTRIBUTES:
            found.append(f"{where} uses a model manager (.{node.attr})")
        if isinstance(node, ast.ImportFrom) and node.module == "annotations.models":
            for alias in node.names:
                if alias.name in model_names:
                    found.append(f"{where} imports the model {alias.name}")
        # something.sources.order_by(...): a query through a related manager
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr in accessors
        ):
            found.append(f"{where} queries the related manager .{node.func.value.attr}")
    return found


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_views_query_only_through_access_and_selectors(path):
    violations = _violations(path)
    assert not violations, "Read through annotations.access / annotations.selectors instead:\n" + "\n".join(violations)


def test_the_check_catches_a_direct_query(tmp_path):
    """The conventions check itself: a view that queries a model directly is caught."""
    probe = tmp_path / "views_probe.py"
    probe.write_text(
        "from annotations.models import Claim\n"
        "def view(request, claim):\n"
        "    Claim.objects.filter(pk=1)\n"
        "    return claim.sources.order_by('id')\n"
    )
    found = sorted(v.split(" ", 1)[1] for v in _violations(probe))
    assert found == [
        "imports the model Claim", "queries the related manager .sources", "uses a model manager (.objects)",
    ]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


LOWER_LAYERS = [
    *sorted((APP / "services").glob("*.py")),
    APP / "models.py", APP / "selectors.py", APP / "access.py", APP / "permissions.py", APP / "workflow.py",
    APP / "selectors_dashboard.py", APP / "charts.py",
    APP / "tasks.py", APP / "publishing" / "exports.py",
]


@pytest.mark.parametrize("path", LOWER_LAYERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_down_the_house(path):
    upward = sorted(
        m for m in _imports(path)
        if m.startswith(("annotations.api", "annotations.views", "annotations.forms"))
    )
    assert not upward, f"{path.relative_to(ROOT)} imports from a layer above it: {upward}"
