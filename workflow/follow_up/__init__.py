"""Follow-up that nobody has to chase: reminders before a session, the summary after it,
daily digests for action-item owners, the weekly overview and escalations for coordinators,
and decisions of the parent forum flowing back. Report-back reports live in workflow.reports.

Every mail here follows the same shape (DESIGN, flow 5): a periodic scan asks the database
what is due now, records the owed Deliveries under unique keys in the same transaction that
marks the work done, and the outbox sends them.
"""
