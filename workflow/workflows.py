"""Every workflow, imported once when a process starts, so that each has declared what it
brings to the shared machinery before any of it runs: the composers of its mail
(`outbox.register`, beside each composer), its part of the follow-up scan
(`schedule.scan`, beside each scan) and what follows a session's changes
(`@spine.on_session_changed`, beside each listener: reminders, report-backs).

The API (create_app), the worker and beat (workflow/tasks) call `load()`. The outbox refuses
to owe a mail whose reason no composer was registered for, so a process that skipped this
fails at once, not in the worker; the spine, likewise, refuses a session change before the
listeners are all registered, so none is lost unseen.
"""

from types import ModuleType

from workflow import directory, sign_in, spine
from workflow.follow_up import compose as follow_up_mail
from workflow.follow_up import digests, reminders
from workflow.invitations import compose as invitation_mail
from workflow.invitations import counters
from workflow.reports import mail as report_mail
from workflow.reports import report_back

# Mail composers, then scheduled scans.
WORKFLOWS: tuple[ModuleType, ...] = (
    invitation_mail,
    counters,
    follow_up_mail,
    report_mail,
    sign_in,
    directory,
    reminders,
    report_back,
    digests,
)
spine.all_listeners_registered()


def load() -> tuple[ModuleType, ...]:
    """Importing this module did the work; calling it says so where a process starts."""
    return WORKFLOWS
