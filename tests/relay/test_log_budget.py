"""Each source's share of the log, without sockets: log_budget.LogBudget with a fake clock."""

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.relay.history_log import DEFAULT_MAX_SIZE
from chat_app.relay.log_budget import SUMMARY_SECONDS, LogBudget, share_for

FLOOD = "198.18.0.2"
LESSON = "198.18.0.3"


def test_a_source_is_cut_once_past_its_share_and_others_go_on():
    budget = LogBudget(1000)
    assert budget.take(FLOOD, 600, 0.0) == (True, None, None)
    assert budget.take(FLOOD, 400, 1.0) == (True, None, None)  # exactly its share
    keep, record, words = budget.take(FLOOD, 1, 2.0)
    assert not keep and budget.is_cut(FLOOD)
    assert record == {"type": "log_cut", "address": FLOOD, "bytes": 1000, "time": 2.0}
    assert words.startswith("the log keeps nothing more from 198.18.0.2 until the server "
                            "restarts") and "one --log-max-size" in words
    assert budget.take(FLOOD, 10, 3.0) == (False, None, None)  # no line per record left out
    assert budget.take(LESSON, 900, 3.0) == (True, None, None)  # another address: its own share
    assert not budget.is_cut(LESSON)


def test_what_was_left_out_is_summed_up_now_and_then_and_at_the_stop():
    budget = LogBudget(100)
    budget.take(FLOOD, 100, 0.0)
    budget.take(FLOOD, 50, 10.0)  # the cut
    assert budget.take(FLOOD, 50, 10.0 + SUMMARY_SECONDS - 1)[1] is None
    keep, record, words = budget.take(FLOOD, 50, 10.0 + SUMMARY_SECONDS)
    assert (keep, words) == (False, None)
    assert record == {"type": "log_left_out", "address": FLOOD, "records": 3, "bytes": 150,
                      "time": 10.0 + SUMMARY_SECONDS}
    assert budget.take(FLOOD, 50, 10.0 + SUMMARY_SECONDS + 1)[1] is None
    budget.take(LESSON, 10, 0.0)
    [(summary, said)] = budget.summaries(500.0)  # the uncut source has nothing to say
    assert (summary["records"], summary["bytes"], summary["time"]) == (4, 200, 500.0)
    assert said == ("the log left out 4 record(s) (200 bytes) sent from 198.18.0.2 after it had "
                    "filled its share; everyone received them.")


def test_a_share_is_one_file_and_a_log_never_renamed_gets_the_default_size():
    assert share_for(64 * 1024) == 64 * 1024
    assert share_for(0) == DEFAULT_MAX_SIZE
