"""The mail room: every mail the service sends is owed, composed, built and sent here.

`outbox` records what is owed and delivers it (claim, send, retry, fail); `message` builds
the envelope and the MIME message; `smtp` holds the reused SMTP connection. The mail room
imports no workflow: each workflow registers the composer of its mail reasons with
`outbox.register`, beside the composer (workflow/workflows.py imports them all at start).
"""
