"""Print the table of a --repeat run's JSON file as Markdown, for docs/benchmarks.md.

    python3 bench/run.py all --repeat 3 --json /tmp/{workload}.json
    python3 bench/markdown.py /tmp/W2.json

The cells are what the run printed: median [min–max] over the repetitions.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import COLUMNS  # noqa: E402
from summary import format_spread  # noqa: E402


def markdown_table(figures):
    """Return the Markdown table of one workload's JSON (as run.py --json writes it)."""
    rows = {}
    for row in figures["rows"]:
        rows.setdefault(row["server"], []).append(row)
    servers = list(figures["summary"])
    lines = ["| figure | %s |" % " | ".join(servers), "|---" * (len(servers) + 1) + "|",
             "| runs | %s |" % " | ".join("%d of %d" % (len(rows.get(name, [])), figures["repeat"])
                                          for name in servers)]
    for label, key, spec in COLUMNS[1:]:
        cells = [format_spread(spec, [row.get(key) for row in rows.get(name, [])])
                 for name in servers]
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(lines)


def main(paths):
    for path in paths:
        with open(path) as handle:
            print(markdown_table(json.load(handle)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
