"""Calendar replies that reach the service by themselves.

Invitations name the deployment's reply address (WORKFLOW_REPLY_ADDRESS) as ORGANIZER, so a
participant's Accept, Decline or Tentative in Outlook, Gmail, Apple Mail or Thunderbird is
mailed there. The service reads that mailbox over IMAP (`imap.py`: beat polls it, or
`workflow replies watch` waits with IDLE), or takes the mail straight from the embedded capture
server (`workflow up`), and hands each message to `inbound.process`: recorded in the
`inbound_message` ledger in the transaction that applies it, the mailbox told only after the
commit, so a restart neither loses nor re-applies a reply. What is no calendar reply
(out-of-office, bounces, a person's words) is recorded as such and left for the secretariat.
"""
