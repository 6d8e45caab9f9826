# Entry point of chat.pyz and of "python -m chat_app".
# This file must stay valid Python 2.7 so old interpreters reach the
# version check below and print one clear line instead of a traceback.
import sys

if sys.version_info < (3, 8):
    program = sys.argv[0] if sys.argv[0].endswith(".pyz") else "-m chat_app"
    if sys.platform.startswith("win"):
        newer = "py -3.11 " + program  # the Windows launcher picks an installed version
    else:
        newer = "python3.11 " + program
    sys.stderr.write(
        "chat_app needs Python 3.8 or newer, but this is Python %d.%d. If a newer "
        "Python is installed, run it with that one, for example: %s. Otherwise "
        "install a current Python from python.org.\n"
        % (sys.version_info[0], sys.version_info[1], newer)
    )
    sys.exit(1)

from chat_app.cli import main  # noqa: E402  (only after the version check)

sys.exit(main())
