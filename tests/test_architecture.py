"""The pure core stays pure: no module under an app's algorithms/ package imports Django (STYLE habit 1)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", "venv", "node_modules", "staticfiles", "build", "__pycache__", ".git"}
IMPORT_FUNCTIONS = {"import_module", "__import__"}
# The Django-bound layers of an app; algorithms may import other apps' algorithms, never these.
DJANGO_LAYERS = {"models", "services", "selectors", "querysets", "views", "api", "admin", "forms", "tasks", "apps", "urls"}


def algorithm_modules(root: Path = ROOT) -> list[Path]:
    """Every `<app>/algorithms/**/*.py` under the project (subpackages such as algorithms/cpsat/ included),
    skipping the virtualenv and the tests' mirror of it."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        parts = Path(directory).relative_to(root).parts
        if "algorithms" in parts and parts[0] != "tests":
            found.extend(Path(directory) / name for name in files if name.endswith(".py"))
    return sorted(found)


def _depth_below_algorithms(path: Path) -> int:
    """0 for algorithms/x.py, 1 for algorithms/pkg/x.py, …: how many relative-import dots stay inside."""
    parts = path.parent.parts
    return len(parts) - 1 - max(i for i, part in enumerate(parts) if part == "algorithms")


def _is_django(module: str) -> bool:
    return module == "django" or module.startswith("django.")


# The project's own Django apps (and the site package), found on disk rather than listed by hand.
PROJECT_PACKAGES = {d.name for d in ROOT.iterdir() if (d / "apps.py").exists()} | {"gtsched_site"}


def _is_django_layer(module: str) -> bool:
    parts = module.split(".")
    if parts[0] not in PROJECT_PACKAGES or "algorithms" in parts:
        return False
    return parts[0] == "gtsched_site" or (len(parts) >= 2 and parts[1] in DJANGO_LAYERS)


def django_imports(path: Path) -> list[str]:
    """Lines of `path` that import Django, directly, dynamically, or through an app's Django-bound modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = 1 + _depth_below_algorithms(path)  # a relative import with more dots leaves the algorithms package
    found = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > inside:  # `from ..models import X` in algorithms/x.py leaves the algorithms package
                found.append(f"{path}:{node.lineno}: relative import {'.' * node.level}{node.module or ''}")
                continue
            if node.level == 0 and node.module:
                modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in IMPORT_FUNCTIONS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    modules = [first.value]
        found.extend(
            f"{path}:{node.lineno}: {module}" for module in modules if _is_django(module) or _is_django_layer(module)
        )
    return found


def test_the_checker_finds_the_algorithm_modules():
    assert {"preferences", "allocation", "fairness", "auctions", "stability"} <= PROJECT_PACKAGES
    modules = algorithm_modules()
    assert ROOT / "preferences" / "algorithms" / "utility.py" in modules
    assert ROOT / "allocation" / "algorithms" / "cpsat" / "model.py" in modules  # subpackages are walked too
    assert not any(".venv" in path.parts or path.relative_to(ROOT).parts[0] == "tests" for path in modules)


def test_no_algorithm_module_imports_django():
    violations = [line for path in algorithm_modules() for line in django_imports(path)]
    assert violations == [], "Pure algorithm modules must not import Django:\n" + "\n".join(violations)


@pytest.mark.parametrize(
    "source",
    [
        "import django\n",
        "import numpy as np, django.db\n",
        "from django.conf import settings\n",
        "from django import forms\n",
        "import importlib\nimportlib.import_module('django.db.models')\n",
        "from importlib import import_module\nimport_module('django')\n",
        "def f():\n    return __import__('django.utils.timezone')\n",
        "from preferences.models import Week\n",
        "from preferences import services\n",
        "from ..models import Week\n",
        "from gtsched_site.settings import DEBUG\n",
    ],
)
def test_the_checker_catches_a_planted_violation(tmp_path, source):
    planted = tmp_path / "myapp" / "algorithms" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("import numpy\n" + source)
    assert planted in algorithm_modules(tmp_path)
    assert django_imports(planted) != []


@pytest.mark.parametrize(
    "source",
    [
        "import numpy as np\nfrom scipy.optimize import linear_sum_assignment\n",
        "from preferences.algorithms import utility\nfrom preferences.algorithms.utility import NEUTRAL\n",
        "from . import types\nfrom .types import Problem\n",
        "import djangorestframework_lookalike\n",
        "from pandas.api.types import is_numeric_dtype\n",
        "text = 'import django'\n",
    ],
)
def test_the_checker_allows_pure_imports(tmp_path, source):
    planted = tmp_path / "myapp" / "algorithms" / "pure.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(source)
    assert django_imports(planted) == []


@pytest.mark.parametrize(
    ("source", "clean"),
    [
        ("from ..types import Problem\nfrom . import model\n", True),
        ("from ...models import Week\n", False),
        ("import django\n", False),
    ],
)
def test_the_checker_walks_algorithm_subpackages(tmp_path, source, clean):
    planted = tmp_path / "myapp" / "algorithms" / "sub" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(source)
    assert planted in algorithm_modules(tmp_path)
    assert (django_imports(planted) == []) is clean


def test_the_checker_skips_the_virtualenv(tmp_path):
    hidden = tmp_path / ".venv" / "lib" / "somepkg" / "algorithms" / "vendored.py"
    hidden.parent.mkdir(parents=True)
    hidden.write_text("import django\n")
    assert algorithm_modules(tmp_path) == []


# --- dependencies point one way (DESIGN §2) -------------------------------------------------------------------------

# What each app may import: gtsched_site ← preferences ← allocation ← stability (with its swap market);
# fairness and auctions use preferences and allocation. Anything not listed is a higher app or a sibling.
ALLOWED_IMPORTS = {
    "gtsched_site": set(),
    "preferences": {"gtsched_site"},
    "allocation": {"gtsched_site", "preferences"},
    "stability": {"gtsched_site", "preferences", "allocation"},
    "fairness": {"gtsched_site", "preferences", "allocation"},
    "auctions": {"gtsched_site", "preferences", "allocation"},
}
# The site's wiring (URL roots, the Celery app, settings) names every app by design.
SITE_WIRING = {"urls.py", "api_urls.py", "celery.py", "settings.py", "asgi.py", "wsgi.py"}


def app_modules(root: Path = ROOT) -> list[Path]:
    """Every module of every app and of gtsched_site, imports inside functions included; not tests, not migrations."""
    found = []
    for app in ALLOWED_IMPORTS:
        for path in sorted((root / app).rglob("*.py")):
            parts = path.relative_to(root).parts
            if "migrations" in parts or "__pycache__" in parts:
                continue
            if app == "gtsched_site" and len(parts) == 2 and parts[1] in SITE_WIRING:
                continue
            found.append(path)
    return found


def _imported(node: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, names) for an import statement or an import_module('x') / __import__('x') call with a literal."""
    if isinstance(node, ast.Import):
        return [(alias.name, []) for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [(node.module, [alias.name for alias in node.names])]
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        first = node.args[0]
        if name in IMPORT_FUNCTIONS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            return [(first.value, [])]
    return []


def _private(module: str, names: list[str]) -> list[str]:
    parts = module.split(".")[1:] + names
    return [p for p in parts if p.startswith("_") and not (p.startswith("__") and p.endswith("__"))]


def direction_breaches(path: Path, app: str) -> list[str]:
    """Imports in `path` (a module of `app`) of a higher or sibling app, or of another app's private name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    breaches = []
    for node in ast.walk(tree):
        for module, names in _imported(node):
            top = module.split(".")[0]
            if top not in ALLOWED_IMPORTS or top == app:
                continue
            if top not in ALLOWED_IMPORTS[app]:
                breaches.append(f"{path}:{node.lineno}: {app} imports {module}, an app above it or beside it")
            if private := _private(module, names):
                breaches.append(f"{path}:{node.lineno}: {app} imports {module}'s private {', '.join(private)}")
    return breaches


def _app_of(path: Path, root: Path) -> str:
    return path.relative_to(root).parts[0]


def test_the_direction_checker_finds_every_app_module():
    modules = app_modules()
    relative = {path.relative_to(ROOT).as_posix() for path in modules}
    assert {"preferences/services.py", "allocation/changes.py", "stability/receivers.py"} <= relative
    assert "allocation/algorithms/exchange.py" in relative  # pure modules count too
    assert not any("/migrations/" in name or name.startswith("tests/") for name in relative)


def test_imports_point_one_way_and_never_reach_private_names():
    breaches = [line for path in app_modules() for line in direction_breaches(path, _app_of(path, ROOT))]
    assert breaches == [], "Imports against DESIGN §2's direction:\n" + "\n".join(breaches)


@pytest.mark.parametrize(
    ("app", "source"),
    [
        ("preferences", "from allocation.models import Schedule\n"),
        ("preferences", "def f():\n    from allocation import services\n    return services\n"),
        ("preferences", "import stability.market\n"),
        ("allocation", "class A:\n    def m(self):\n        import stability.tasks\n"),
        ("allocation", "from importlib import import_module\nimport_module('stability.services')\n"),
        ("gtsched_site", "from preferences.models import Faculty\n"),
        ("fairness", "from auctions.models import Bid\n"),
        ("auctions", "from fairness import services\n"),
        ("stability", "from allocation.services import _jsonable\n"),
        ("stability", "from allocation.algorithms._validate import epsilon\n"),
        ("stability", "from allocation._private_module import helper\n"),
    ],
)
def test_the_direction_checker_catches_a_planted_breach(tmp_path, app, source):
    planted = tmp_path / app / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("import numpy\n" + source)
    assert planted in app_modules(tmp_path)
    assert direction_breaches(planted, app) != []


@pytest.mark.parametrize(
    ("app", "source"),
    [
        ("stability", "from allocation.models import Schedule\nfrom preferences.querysets import own_faculty\n"),
        ("allocation", "from allocation.services import _private_helper_of_my_own_app\n"),
        ("fairness", "from allocation.algorithms.exchange import SwapProblem\n"),
        ("preferences", "from gtsched_site.permissions import is_coordinator\nimport django.db\n"),
        ("stability", "from allocation.algorithms import __init__\ntext = 'import auctions'\n"),
    ],
)
def test_the_direction_checker_allows_imports_down_the_stack(tmp_path, app, source):
    planted = tmp_path / app / "fine.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(source)
    assert direction_breaches(planted, app) == []


def test_the_direction_checker_skips_tests_and_migrations(tmp_path):
    for folder in ("preferences/migrations", "tests/preferences"):
        planted = tmp_path / folder / "x.py"
        planted.parent.mkdir(parents=True)
        planted.write_text("from stability.models import SwapRequest\n")
    assert app_modules(tmp_path) == []


# --- modules of a readable size (STYLE habit 12) ----------------------------------------------------------------------


def test_modules_stay_a_readable_size():
    """At most 500 lines a module; 600 inside algorithms/ (the mathematics reads better whole)."""
    too_long = []
    for path in app_modules():
        limit = 600 if "algorithms" in path.relative_to(ROOT).parts else 500
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines (limit {limit})")
    assert too_long == [], "Cut these along their sections:\n" + "\n".join(too_long)
