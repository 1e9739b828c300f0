"""Invitations that work in every calendar: what is owed, the calendar data, the mail."""
