"""Units of work that must commit between their steps.

A service (app/services) is a domain step that never commits: the view of one request,
or the job function for one claimed item, owns the transaction and commits it. A few
pieces of work cannot be one transaction, and the functions here own their commits:

- `token_vault`: a usable access token for a connection. It ends its read before
  TikTok is called (no transaction stays open while we wait), and commits a rotated
  token pair at once, under the connection's lease, before anything else can fail.
- `sync`: one connection (or ads account): the vault's token, then TikTok's figures
  with no transaction open, then one transaction that stores them.
- `key_rotation`: `flask keys rotate`, one committed batch at a time.

The jobs (jobs/), "Refresh now" and the CLI call them. Call a workflow with nothing of
your own pending (it may commit or roll back the session); it returns with nothing pending.
Dependencies point one way: web, cli and jobs → workflows → services → models, tiktok, crypto.
"""
