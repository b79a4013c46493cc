"""Domain logic. Services take explicit arguments and never commit (nor roll back): the
caller owns the transaction — the view of one request, or the job function for one
claimed item — and commits it.

Work that must commit between its steps (a sync: no transaction open while TikTok
answers; a token refresh: the rotated pair committed at once under the connection's
lease; `flask keys rotate`: one batch at a time) lives in app/workflows, which calls
services for the steps and owns those commits. Leases (app/leases.py) are taken and
released in a transaction of their own, on a connection of their own: a service that
takes one commits nothing of its caller's."""
