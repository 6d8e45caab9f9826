"""Read chat_app's imports from its code; print the layout's figures; draw docs/architecture.svg.

Every import counts, at the top of a module or inside a function: the graph
is what the code can load, not what it loads first.  tests/test_architecture.py
checks the rules against this same graph, and that the picture is up to date.

    python3 tools/import_graph.py           # print the figures
    python3 tools/import_graph.py --draw    # rewrite docs/architecture.svg
"""

import argparse
import ast
import collections
import os
import sys
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "chat_app"
PICTURE = os.path.join(ROOT, "docs", "architecture.svg")
TOP = "(top)"  # the package name shown for chat_app's own front-door modules


def modules(root=ROOT):
    """Return {dotted name: path} for every module of chat_app, packages as their __init__."""
    found = {}
    for folder, dirs, files in os.walk(os.path.join(root, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            parts = os.path.relpath(os.path.join(folder, name), root)[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = os.path.join(folder, name)
    return found


def _base(name, path, level):
    """Return the package a relative import of `level` dots starts from."""
    parts = name.split(".")
    if not path.endswith("__init__.py"):
        parts = parts[:-1]
    return parts[:len(parts) - level + 1]


def imports(name, path, known):
    """Return the chat_app modules that module `name` imports, anywhere in its code."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                module = ".".join(_base(name, path, node.level) + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets.add(module)
            # "from package import module" imports the module too
            targets.update(module + "." + alias.name for alias in node.names)
    return sorted(target for target in targets if target in known and target != name)


def graph(root=ROOT):
    """Return {module: [modules it imports]} for all of chat_app."""
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def package_of(module, known):
    """Return the package a module belongs to: 'relay', 'wire' ..., or TOP for the front doors."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and known[module].endswith("__init__.py")):
        return parts[1]
    return TOP


def package_arrows(edges, known):
    """Return {(from package, to package)} for imports that cross packages (the root excluded)."""
    arrows = set()
    for source, targets in edges.items():
        for target in targets:
            if target == PACKAGE:
                continue
            pair = (package_of(source, known), package_of(target, known))
            if pair[0] != pair[1]:
                arrows.add(pair)
    return arrows


def cycles(edges):
    """Return the import cycles: strongly connected groups of more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def reach(edges, start):
    """Return every module that importing `start` can load (itself included)."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


def line_count(path):
    with open(path, encoding="utf-8") as handle:
        return sum(1 for unused in handle)


def figures(root=ROOT):
    """Return the layout's figures as (label, value) pairs."""
    known = modules(root)
    edges = graph(root)
    top = [name for name in known if package_of(name, known) == TOP and name != PACKAGE]
    packages = sorted({package_of(name, known) for name in known} - {TOP})
    sizes = sorted((line_count(path), name) for name, path in known.items())
    return [
        ("modules directly in chat_app/", "%d (%s)" % (len(top) + 1, ", ".join(
            ["__init__"] + sorted(name.split(".")[-1] for name in top)))),
        ("packages", "%d (%s)" % (len(packages), ", ".join(packages))),
        ("modules", str(len(known))),
        ("import cycles", str(len(cycles(edges)))),
        ("largest module", "%s, %d lines" % (sizes[-1][1], sizes[-1][0])),
        ("arrows between packages", str(len(package_arrows(edges, known)))),
        ("lines of code", str(sum(size for size, unused in sizes))),
    ]


# --- the picture ----------------------------------------------------------

BOX_WIDTH = 230
LINE_HEIGHT = 15
GAP = 26
MARGIN = 20
ARC_STEP = 26  # how far right each arc bulges per package it passes


def order(arrows, names):
    """Return the packages top to bottom: each imports only packages below it."""
    depth = {}

    def level(name, path=()):
        if name not in depth:
            below = [target for source, target in arrows if source == name and target not in path]
            depth[name] = 1 + max((level(target, path + (name,)) for target in below), default=-1)
        return depth[name]

    return sorted(names, key=lambda name: (-level(name), name))


def _arrow(x, y1, y2, bulge):
    """Return an arc from the right edge at y1 to the right edge at y2, its head at y2."""
    head = 8
    return ('<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#555" stroke-width="1.2"/>'
            '<polygon points="%d,%d %d,%d %d,%d" fill="#555"/>' % (
                x, y1, x + bulge, y1, x + bulge, y2, x + head, y2,
                x, y2, x + head, y2 - head // 2, x + head, y2 + head // 2))


def draw(root=ROOT):
    """Return the SVG text: a box per package listing its modules, an arc per importing package."""
    known = modules(root)
    edges = graph(root)
    arrows = sorted(package_arrows(edges, known))
    members = collections.defaultdict(list)
    for name, path in known.items():
        leaf = "__init__" if path.endswith("__init__.py") else name.split(".")[-1]
        members[package_of(name, known)].append(leaf)
    names = order(arrows, sorted(members))
    rank = {name: index for index, name in enumerate(names)}
    top, height = {}, {}
    y = MARGIN
    for name in names:
        top[name], height[name] = y, len(members[name]) * LINE_HEIGHT + 30
        y += height[name] + GAP
    right = MARGIN + BOX_WIDTH
    outgoing = collections.defaultdict(list)
    incoming = collections.defaultdict(list)
    for source, target in arrows:
        outgoing[source].append(target)
        incoming[target].append(source)
    span = max((rank[target] - rank[source] for source, target in arrows), default=1)
    width = right + ARC_STEP * (span + 1) + MARGIN
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (width, y - GAP + MARGIN),
           '<rect x="0" y="0" width="%d" height="%d" fill="white"/>' % (width, y - GAP + MARGIN)]
    for source, target in arrows:
        # leave from the lower half of the source's edge, arrive on the upper half of the target's
        leaving = sorted(outgoing[source], key=rank.get)
        arriving = sorted(incoming[target], key=rank.get)
        y1 = top[source] + height[source] * (1 + (leaving.index(target) + 1) / (len(leaving) + 1)) / 2
        y2 = top[target] + height[target] * ((arriving.index(source) + 1) / (len(arriving) + 1)) / 2
        out.append(_arrow(right, y1, y2, ARC_STEP * (rank[target] - rank[source] + 1)))
    for name in names:
        title = "chat_app/" if name == TOP else "chat_app/%s/" % name
        out.append('<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#eef3fb" '
                   'stroke="#36c"/>' % (MARGIN, top[name], BOX_WIDTH, height[name]))
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (
            MARGIN + 8, top[name] + 18, escape(title)))
        for line, module in enumerate(sorted(members[name])):
            out.append('<text x="%d" y="%d">%s</text>' % (
                MARGIN + 14, top[name] + 36 + line * LINE_HEIGHT, escape(module + ".py")))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=ROOT, help="the tree to read (default: this one)")
    parser.add_argument("--draw", action="store_true", help="rewrite " + os.path.relpath(PICTURE, ROOT))
    options = parser.parse_args(argv)
    for label, value in figures(options.root):
        print("%-26s %s" % (label + ":", value))
    edges = graph(options.root)
    for source, target in sorted(package_arrows(edges, modules(options.root))):
        print("  %s -> %s" % (source, target))
    if options.draw:
        with open(PICTURE, "w", encoding="utf-8") as handle:
            handle.write(draw(options.root))
        print("wrote", os.path.relpath(PICTURE, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
