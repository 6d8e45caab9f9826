"""The window's look, shared by its views: colours, fonts, the theme, wrapping labels.

The join form, the chat view and the teacher's panel all draw with these,
so each colour and font is named once.
"""

from tkinter import font as tkfont
from tkinter import ttk

# Labels that wrap to their width keep this many pixels spare, so the last
# word is never cut by the border.
WRAP_SPARE = 16

COLORS = {
    "time": "#808080", "sender": "#1f4e99", "own": "#2e7d32", "private": "#8e24aa",
    "notice": "#6d6d6d", "error": "#c62828", "history": "#8a8a8a",
    "mention": "#fff3b0", "private_bg": "#f6ecfa",
    "announcement": "#8a3b00", "announcement_bg": "#ffe6cc",
    "stale": "#a0a0a0", "bar_bg": "#fff4d6",
    "teacher": "#b71c1c", "event": "#5d4037", "rules": "#8a3b00",
}


def make_fonts(root):
    """Create the named fonts the window uses, sized from the system's.

    Return the Font objects: the caller keeps them, since a named font
    made here is deleted when its Font object is collected.
    """
    base = tkfont.nametofont("TkDefaultFont").actual()
    size = abs(base["size"]) + 1
    specs = {
        "ChatText": dict(family=base["family"], size=size),
        "ChatBold": dict(family=base["family"], size=size, weight="bold"),
        "ChatItalic": dict(family=base["family"], size=size, slant="italic"),
        "ChatTitle": dict(family=base["family"], size=size + 4, weight="bold"),
        "ChatMono": dict(family=tkfont.nametofont("TkFixedFont").actual()["family"],
                         size=size),
        "ChatDigits": dict(family=tkfont.nametofont("TkFixedFont").actual()["family"],
                           size=size + 8, weight="bold"),
    }
    fonts = {}
    for name, spec in specs.items():
        if name in tkfont.names(root):
            fonts[name] = tkfont.Font(root, name=name, exists=True)
            fonts[name].configure(**spec)
        else:
            fonts[name] = tkfont.Font(root, name=name, **spec)
    return fonts


def apply_theme(root):
    """Use the native theme on Windows and macOS, and clam on X11."""
    style = ttk.Style(root)
    if root.tk.call("tk", "windowingsystem") == "x11":
        style.theme_use("clam")
    style.configure("Problem.TLabel", foreground=COLORS["error"])
    style.configure("Title.TLabel", font="ChatTitle")
    style.configure("Status.TLabel", padding=(6, 2))
    style.configure("Bar.TFrame", background=COLORS["bar_bg"])
    style.configure("Bar.TLabel", background=COLORS["bar_bg"])
    style.configure("Rules.TLabel", foreground=COLORS["rules"], padding=(0, 0))
    style.configure("Recorded.TLabel", foreground=COLORS["event"], font="ChatItalic")
    style.configure("Digits.TLabel", font="ChatDigits")


def wrap_to_width(label):
    """Make a label wrap its text to the width it is given, so nothing is cut off."""
    label.bind("<Configure>", lambda event: label.configure(
        wraplength=max(event.width - WRAP_SPARE, 1)), add="+")

