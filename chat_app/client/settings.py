"""The window client's memory of the last successful join, in a small JSON file.

Reading or writing it may fail (no home directory, a read-only profile, a
corrupt file); that only means the fields start empty next time.
"""

import json
import os

from ..wire.protocol import DEFAULT_PORT

FILE_NAME = ".chat_app.json"
DEFAULTS = {"host": "", "port": DEFAULT_PORT, "name": ""}
# Never the password.  "room": the name of the room joined last, so that
# the list of rooms found chooses it again.
FIELDS = {"host": str, "port": int, "name": str, "room": str}


def settings_path():
    """Return where the settings live: a dot-file in the user's home."""
    return os.path.join(os.path.expanduser("~"), FILE_NAME)


def load(path=None):
    """Return the remembered fields, leaving out anything missing or odd."""
    try:
        with open(path or settings_path(), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: data[key] for key, kind in FIELDS.items()
            if isinstance(data.get(key), kind) and not isinstance(data.get(key), bool)}


def save(values, path=None):
    """Remember host, port, name and room; return False if that was not possible."""
    data = {key: values[key] for key in FIELDS if key in values}
    target = path or settings_path()
    try:
        with open(target + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(target + ".tmp", target)
    except OSError:
        return False
    return True


def fill(options, path=None):
    """Return host, port, name and the passwords: the options, else the remembered values."""
    remembered = load(path)
    values = {key: getattr(options, key, None) or remembered.get(key, default)
              for key, default in DEFAULTS.items()}
    values["password"] = getattr(options, "password", None) or ""
    values["teacher_password"] = getattr(options, "teacher_password", None) or ""  # never kept
    return values
