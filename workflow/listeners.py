"""Everything that listens on the spine, imported once for every process that changes
sessions: the application (API and pages), the worker, the command line, the tests.

Each listener registers itself in its own module (`@spine.on_session_changed`); importing
the module is what registers it. The workflows that change sessions import none of them,
and spine.session_changed refuses to run before this module was imported, so a process
that forgot it fails at its first change instead of losing reminders unseen. A new listener
is a module with an `@spine.on_session_changed` function, added here.
"""

from workflow import spine
from workflow.follow_up import reminders
from workflow.reports import report_back

LISTENING = (reminders, report_back)
spine.all_listeners_registered()
