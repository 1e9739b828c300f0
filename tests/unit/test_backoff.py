from datetime import timedelta

from workflow.mail.outbox import backoff, message_id_for


def test_backoff_doubles_and_is_capped() -> None:
    # Defaults: 30 s base, one hour at most.
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert backoff(30) == timedelta(hours=1)


def test_message_id_is_stable_per_delivery_key() -> None:
    a = message_id_for("calendar:1:2:REQUEST:0")
    assert a == message_id_for("calendar:1:2:REQUEST:0")
    assert a != message_id_for("calendar:1:2:REQUEST:1")
    assert a.startswith("<") and a.endswith("@forum-workflow.example.org>")
