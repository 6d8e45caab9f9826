"""The Tk window: the join form, the chat, and the teacher's panel.

chat_window.py joins the views to the network (ChatWindow, run, open_root);
join_form.py is the first view, chat_view.py the chat (log, people, input),
look.py the colours, fonts and theme they share; teacher_panel.py adds the
teacher's menus and hands list, deciding what to offer in teacher_view.py
(no Tk).  Widgets are built and drawn here; what to show is decided by
client/chat_state.py, and the network runs in client/link.py's threads.
Tk is touched only on the Tk thread.

May import: client, wire, discovery, transcript.
"""
