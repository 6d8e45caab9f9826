#!/usr/bin/env python3
"""Build chat.pyz, the single file that runs the chat server and client.

The archive holds __main__.py and the chat_app package, nothing else.  It is
byte-identical when built twice from the same sources: files go in sorted
order with a fixed timestamp and fixed permissions, whatever the files'
modification times.

    python3 build_pyz.py               # writes chat.pyz next to this script
    python3 build_pyz.py -o PATH       # writes it to PATH
"""

import argparse
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "chat_app"
SHEBANG = b"#!/usr/bin/env python3\n"

# Zip's earliest date: no build time or file time leaks into the archive.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
# Regular file, rw-r--r--, in the upper 16 bits of the zip entry's attributes.
FILE_MODE = 0o100644 << 16


def package_files(root=HERE):
    """Return the archive names of the package's Python files, sorted."""
    names = []
    for folder, dirs, files in os.walk(os.path.join(root, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                names.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(names)


def _add(archive, name, data):
    info = zipfile.ZipInfo(name, FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = FILE_MODE
    archive.writestr(info, data)


def build(output, root=HERE):
    """Write the archive to `output` and return its size in bytes."""
    names = package_files(root)
    entries = []
    for name in names:
        with open(os.path.join(root, name), "rb") as handle:
            entries.append((name, handle.read()))
    main = dict(entries)[PACKAGE + "/__main__.py"]
    temporary = output + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(SHEBANG)
        with zipfile.ZipFile(handle, "w") as archive:
            _add(archive, "__main__.py", main)
            for name, data in entries:
                _add(archive, name, data)
    os.chmod(temporary, 0o755)
    os.replace(temporary, output)
    return os.path.getsize(output)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build chat.pyz.")
    parser.add_argument("-o", "--output", default=os.path.join(HERE, "chat.pyz"),
                        help="where to write the archive (default: chat.pyz next to this script)")
    options = parser.parse_args(argv)
    try:
        size = build(options.output)
    except OSError as exc:
        sys.stderr.write("build_pyz: cannot write %s: %s\n" % (options.output, exc.strerror or exc))
        return 1
    print("wrote %s (%d bytes)" % (options.output, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
