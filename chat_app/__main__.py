# Entry point of chat.pyz and of "python -m chat_app".
# This file must stay valid Python 2.7 so old interpreters reach the
# version check below and print one clear line instead of a traceback.
import sys

if sys.version_info < (3, 8):
    sys.stderr.write(
        "chat_app needs Python 3.8 or newer, but this is Python %d.%d. "
        "Run it with python3 (for example: python3 chat.pyz), "
        "or install a newer Python from python.org.\n" % tuple(sys.version_info[:2])
    )
    sys.exit(1)

from chat_app.cli import main  # noqa: E402  (only after the version check)

sys.exit(main())
