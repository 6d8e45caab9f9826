"""The window's decisions that need no display (chat_app/window/).

check_join reads the join form's fields; Tk is imported with the module,
so the test needs tkinter, but no window is opened.
"""

import helpers


def test_the_join_form_takes_the_address_as_the_board_shows_it():
    try:
        from chat_app.window.join_form import check_join
    except ImportError:  # no tkinter in this Python
        check_join = None
    helpers.require(check_join is not None, "tkinter, for the join form's checks")
    form = {"port": "1234", "name": "amy"}
    assert check_join(dict(form, host="192.0.2.9:1235")).request["port"] == 1235
    request = check_join(dict(form, host="[2001:db8::7]:1236")).request
    assert (request["host"], request["port"]) == ("2001:db8::7", 1236)
    assert check_join(dict(form, host=" 192.0.2.9 ")).request["port"] == 1234  # the Port field
    check = check_join(dict(form, host="192.0.2.9:abc"))
    assert check.request is None and check.field == "host"
    assert "192.168.1.23:1235" in check.problem and "not a port number" in check.problem
    for typed, meant in (("127.0.0.1 1250", "127.0.0.1:1250"), ("::1  1250", "[::1]:1250")):
        check = check_join(dict(form, host=typed))  # the port after a space, as on paper
        assert check.request is None and check.field == "host"
        assert "write the port after a colon: %s." % meant in check.problem.lower()
    assert check_join(dict(form, host="192.0.2.9", name="a b")).field == "name"
    assert check_join(dict(form, host="192.0.2.9", port="x")).field == "port"
