"""The layout's rules, checked from the code's own imports (tools/import_graph.py reads them).

Every import counts, function-level ones included.  What each package may
import is written once, in its __init__ docstring's "May import:" line;
this test holds the code to it.
"""

import ast
import importlib.util
import os
import re

import pytest

from helpers import ROOT

_spec = importlib.util.spec_from_file_location(
    "import_graph", os.path.join(ROOT, "tools", "import_graph.py"))
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)

MAX_TOP_MODULES = 8
MAX_MODULE_LINES = 800
FRONT_DOORS = {"__init__", "__main__", "cli", "teach", "server", "client_gui"}
SERVER_SIDE = ("chat_app.server", "chat_app.relay")
CLIENT_SIDE = ("chat_app.client", "chat_app.window", "chat_app.client_gui")

KNOWN = import_graph.modules()
EDGES = import_graph.graph()
PACKAGES = sorted({import_graph.package_of(name, KNOWN) for name in KNOWN} - {import_graph.TOP})


def may_import(package):
    """Return the packages that `package`'s docstring says it may import."""
    with open(KNOWN["chat_app." + package], encoding="utf-8") as handle:
        docstring = ast.get_docstring(ast.parse(handle.read())) or ""
    found = re.search(r"^May import: (.*)\.$", docstring, re.MULTILINE)
    assert found, "chat_app/%s/__init__.py says what it may import ('May import: ...')" % package
    if found.group(1).startswith("nothing"):
        return set()
    return {name.strip() for name in found.group(1).split(",")}


def test_few_modules_sit_at_the_top():
    top = {name.split(".")[-1] for name in KNOWN
           if import_graph.package_of(name, KNOWN) == import_graph.TOP and name != "chat_app"}
    assert len(top) + 1 <= MAX_TOP_MODULES
    assert top | {"__init__"} <= FRONT_DOORS


def test_every_package_says_what_lives_there_and_what_it_may_import():
    assert len(PACKAGES) >= 6
    for package in PACKAGES:
        allowed = may_import(package)
        assert allowed <= set(PACKAGES), (package, allowed)


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_what_its_docstring_allows(package):
    allowed = may_import(package)
    arrows = import_graph.package_arrows(EDGES, KNOWN)
    reached = {target for source, target in arrows if source == package}
    assert reached <= allowed, "chat_app/%s/ imports %s" % (package, sorted(reached - allowed))


def test_no_import_runs_back_up_to_a_front_door():
    # The package root (chat_app/__init__.py: the version) imports nothing, so
    # reading it from below is not a cycle.
    assert EDGES["chat_app"] == []
    up = [(source, target) for source, targets in EDGES.items() for target in targets
          if import_graph.package_of(source, KNOWN) != import_graph.TOP
          and import_graph.package_of(target, KNOWN) == import_graph.TOP and target != "chat_app"]
    assert up == []


def test_there_is_no_import_cycle():
    assert import_graph.cycles(EDGES) == []
    arrows = import_graph.package_arrows(EDGES, KNOWN)
    packages = {source: [target for other, target in arrows if other == source]
                for source, unused in arrows}
    assert import_graph.cycles(packages) == []


def _imports_tkinter(module):
    with open(KNOWN[module], encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(name.split(".")[0] == "tkinter" for name in names):
            return True
    return False


def test_the_server_side_never_reaches_the_client_side_or_tk():
    starts = [name for name in KNOWN if name.startswith(SERVER_SIDE)]
    assert "chat_app.relay.room" in starts
    for start in starts:
        reached = import_graph.reach(EDGES, start)
        assert not [name for name in reached if name.startswith(CLIENT_SIDE)], start
        assert not [name for name in reached if _imports_tkinter(name)], start


def test_the_checks_see_a_bad_import(tmp_path):
    # The rules above catch what they are for: a copy of the package with a
    # relay module that imports the window, and a cycle, fails them.
    bad = tmp_path / "chat_app"
    for name, path in KNOWN.items():
        target = bad / os.path.relpath(path, os.path.join(ROOT, "chat_app"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(open(path, "rb").read())
    with open(bad / "relay" / "room.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef _bad():\n    from ..window import chat_window\n")
    with open(bad / "wire" / "protocol.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef _bad():\n    from . import scram\n")
    edges = import_graph.graph(str(tmp_path))
    known = import_graph.modules(str(tmp_path))
    assert "chat_app.window.chat_window" in import_graph.reach(edges, "chat_app.relay.room")
    assert ("relay", "window") in import_graph.package_arrows(edges, known)
    assert ["chat_app.wire.protocol", "chat_app.wire.scram"] in import_graph.cycles(edges)


def test_no_module_is_over_the_limit():
    sizes = {name: import_graph.line_count(path) for name, path in KNOWN.items()}
    assert {name: size for name, size in sizes.items() if size > MAX_MODULE_LINES} == {}


def test_the_picture_in_docs_is_drawn_from_this_code():
    with open(import_graph.PICTURE, encoding="utf-8") as handle:
        drawn = handle.read()
    assert drawn == import_graph.draw(), "run: python3 tools/import_graph.py --draw"
