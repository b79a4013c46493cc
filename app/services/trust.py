"""What the public trust pages (/privacy, /terms, /security) say, built from the code.

TikTok's app review and our clients read these pages as promises, so they are made
from the same things the app runs with instead of being written by hand:

* the **data inventory** comes from the models. Every model that stores TikTok-derived
  data declares a class attribute ``__data_inventory__ = {"what": ..., "source_scopes":
  [...], "deleted": ...}`` (optionally ``"source": "marketing"`` for Marketing API data);
  ``inventory()`` walks ``db.Model.registry.mappers`` and collects them. Tables that hold
  no TikTok data are named in ``EXCLUDED_TABLES`` with the reason. ``uncovered_tables()``
  lists any table that is in neither, and a test fails on it — so a new TikTok-data model
  cannot ship without its line on the privacy page.
* retention, scopes, key protection and the security contact come from ``app.config``
  (``RETENTION_DAYS``, ``TIKTOK_SCOPES``, ``KMS_KEY_ID``/``TOKEN_KEYS``, ``SECURITY_CONTACT``).
* when each background job runs comes from its scheduler trigger (``jobs.SCHEDULE``), put
  in words by ``jobs.when``, which the caller passes in.

Pure functions over config values and the model registry; no I/O, no requests.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.extensions import db

# One line per scope: why Logic Target asks for it (what each scope unlocks, as listed in
# app/tiktok/fields.py and TikTok's scope docs). A configured
# scope missing here gets GENERIC_SCOPE_PURPOSE, so the page never hides a scope.
SCOPE_PURPOSES: Mapping[str, str] = {
    "user.info.basic": "The account's ID, display name and avatar, to show which TikTok account is connected.",
    "user.info.username": "The account's @handle, to label it on dashboards and in reports.",
    "user.info.profile": "Profile details (bio, profile link, verified badge), shown next to the account.",
    "user.info.stats": "Follower, following, like and video counts, for the Followers tile and its weekly change.",
    "user.account.type": "Whether the account is a Business account, because some daily metrics exist only for those.",
    "user.insights": "The account's daily totals (video views, profile views, new and lost followers) for the dashboard and weekly report.",
    "video.list": "The account's public posts (caption, thumbnail link, post link, publish time) and their views, likes, comments, shares and reach.",
    "video.insights": "Each post's watch-through rate (share of views watched to the end), shown in the posts table.",
    "comment.list": "Part of the TikTok Accounts permission set. Logic Target reads and stores no comment text; comment counts come with the posts.",
    "biz.spark.auth": "Spark Ads authorisation, so paid figures can be matched to the organic post they promote.",
    "biz.creator.info": "Creator account information, used only to label the connected account.",
    "biz.creator.insights": "Creator account insights, used only as aggregate figures on the dashboard and in weekly reports.",
    "biz.brand.insights": "Brand account insights, used only as aggregate figures on the dashboard and in weekly reports.",
    "biz.ads.recommend": "Matching posts to ads, so Spark Ads figures appear next to the organic post.",
    "tto.campaign.link": "Linking posts to TikTok One campaigns, used only to match paid figures to posts.",
}
GENERIC_SCOPE_PURPOSE = (
    "Requested by this installation's configuration. Logic Target uses it only for the aggregate "
    "figures on dashboards and in weekly reports, and stores only what the data inventory lists."
)

SOURCES: Mapping[str, str] = {
    "accounts": "TikTok Accounts API",
    "marketing": "TikTok Marketing API (advertiser authorisation)",
}

# Tables that hold no TikTok-derived data, and why. Every table is either declared by its
# model (__data_inventory__) or listed here; tests/integration/test_public_pages.py checks it.
EXCLUDED_TABLES: Mapping[str, str] = {
    "users": "People who sign in to Logic Target (email, name, password hash, encrypted two-factor secret); not TikTok data.",
    "workspaces": "Agency clients (name, timezone, posting cadence target); not TikTok data.",
    "memberships": "Who belongs to which workspace, and in which role; not TikTok data.",
    "invites": "Invitations to join a workspace: the invited email, the role, who invited, and a SHA-256 digest of the link's token (never the token); not TikTok data.",
    "recovery_codes": "Two-factor sign-in recovery codes, stored as salted digests; not TikTok data.",
    "password_resets": "Password reset links: a digest of each emailed token, its expiry (one hour) and when it was used; not TikTok data.",
    "sign_in_challenges": "A sign-in waiting for its second step: a digest of the session's reference, valid 10 minutes; not TikTok data.",
    "oauth_transactions": "A pending connect (or a data-deletion request's check with TikTok): a hashed state and a sealed PKCE verifier, deleted on callback or after 10 minutes; nothing from TikTok.",
    "job_claims": "Leases that stop two scheduler runs doing the same work (job name, row key, expiry); no TikTok data.",
    "job_runs": "When each background job last ran and how it went (times, counts, a short error); no TikTok data.",
    "webhook_deliveries": "A one-way digest of each TikTok webhook notice already handled, so a repeated notice is "
                          "applied once; kept 7 days. No account identifier in readable form.",
    "purge_receipt_links": "Which anonymous deletion receipt an unfinished purge writes into; removed when it finishes.",
    "report_deliveries": "Which user a weekly report was emailed to and when (recipient, status); the figures live in reports.",
    "report_settings": "How a workspace's reports go out: weekly and/or monthly, the delivery day and hour, whether "
                       "creators get their own cut, whether they wait for approval and for how long; not TikTok data.",
    "report_agency_recipients": "Which agency staff asked to receive a workspace's weekly report; not TikTok data.",
    "report_external_recipients": "Email addresses outside Logic Target that a workspace's admin added as report recipients; not TikTok data.",
    "report_unsubscribes": "Addresses that unsubscribed from a workspace's weekly report, and when; not TikTok data.",
    "deletion_requests": "The handle and email a person typed into the public data-deletion form, and the staff decision on it (with its reason); not read from TikTok.",
    "workspace_brands": "An agency's brand for a workspace's reports (logo image, accent colour, sender name, "
                        "reply-to address, whether to attach the PDF); set by agency staff, not TikTok data.",
    "deletion_receipts": "What a purge leaves behind: a reference code, counts and a time — nothing that identifies an account.",
}

# Reading order of the inventory table (the account first, then what hangs off it);
# tables not named here follow alphabetically.
INVENTORY_ORDER = (
    "tiktok_connections", "account_snapshots", "audience_snapshots", "posts", "post_metrics", "ads_accounts", "spark_ad_metrics",
    "reports", "report_connections", "audit_events",
)

REQUIRED_KEYS = frozenset({"what", "source_scopes", "deleted"})


@dataclass(frozen=True)
class InventoryEntry:
    model: str
    table: str
    what: str
    source: str
    source_scopes: tuple[str, ...]
    deleted: str


@dataclass(frozen=True)
class Job:
    name: str
    touches: str
    also: str = ""  # when else it runs, said after its schedule
    when: str = ""  # its schedule in words, filled in by `scheduled_jobs`


# The scheduler's jobs and what each touches; the security page and the architecture
# diagram both read this table, and a test checks it names every job in jobs.REGISTRY.
# When each runs is not written here: `scheduled_jobs` reads it from the job's trigger.
JOBS: tuple[Job, ...] = (
    Job("refresh-tokens",
        "Connections whose access token expires within 2 hours: calls the Accounts API token endpoint and "
        "stores the new access token and the rotated refresh token in one transaction."),
    Job("sync",
        "Reads profile figures, posts and post metrics from the Accounts API and Spark Ads figures from the "
        "Marketing API; upserts daily snapshots in the database.",
        also=", at once after connecting, and on “Refresh now”"),
    Job("weekly-reports",
        "Builds each workspace's weekly or monthly report at the day and local hour it chose, from the database, "
        "and emails it over SMTP, once per recipient."),
    Job("report-retries",
        "Retries report emails that failed for a temporary reason, after their backoff. Database and SMTP only."),
    Job("purge",
        "Deletes the data of accounts whose retention period ended or whose deletion was requested; leaves an "
        "anonymous receipt. Database only."),
    Job("revoke-retry",
        "Retries token revocations TikTok has not confirmed; the sealed token is wiped once TikTok confirms, "
        "or after a few days at most if it never does."),
    Job("deletion-notices",
        "Emails agency staff, the named workspaces' client admins and each account's owner once about a "
        "confirmed public data-deletion request, and retries requester emails that failed. Database and SMTP only."),
    Job("token-check",
        "Asks the Accounts API whether each connection's access token is still alive and which permissions it "
        "carries (no data is read); a grant the user removed in TikTok is marked for reconnecting."),
)


def scheduled_jobs(when: Callable[[str], str]) -> list[Job]:
    """JOBS with when each runs. `when(name)` (jobs.when, passed in by the caller) puts the
    job's own scheduler trigger in words, so the page cannot disagree with the schedule."""
    return [replace(j, when=when(j.name) + j.also) for j in JOBS]


def _declared_models(registry=None) -> list[tuple[type, Mapping[str, Any]]]:
    out = []
    for mapper in (registry or db.Model.registry).mappers:
        cls = mapper.class_
        decl = cls.__dict__.get("__data_inventory__")
        if decl is not None:
            out.append((cls, decl))
    rank = {t: i for i, t in enumerate(INVENTORY_ORDER)}
    return sorted(out, key=lambda pair: (rank.get(pair[0].__tablename__, len(rank)), pair[0].__tablename__))


def inventory(retention_days: int, scopes: Iterable[str] | None = None, *,
              revoke_give_up_days: int = 7) -> list[InventoryEntry]:
    """Every kind of TikTok-derived data we store, as the models declare it.

    `scopes`, when given (the configured TIKTOK_SCOPES), keeps only the Accounts API
    scopes actually requested, so the page never names a scope this installation
    does not ask for. Marketing API rows do not depend on TIKTOK_SCOPES.
    """
    wanted = None if scopes is None else set(scopes)
    entries = []
    for cls, decl in _declared_models():
        missing = REQUIRED_KEYS - set(decl)
        if missing:
            raise ValueError(f"{cls.__name__}.__data_inventory__ lacks {sorted(missing)}")
        source = decl.get("source", "accounts")
        declared = tuple(decl["source_scopes"])
        entries.append(InventoryEntry(
            model=cls.__name__,
            table=cls.__tablename__,
            what=decl["what"],
            source=SOURCES[source],
            source_scopes=declared if wanted is None else tuple(s for s in declared if s in wanted),
            deleted=decl["deleted"].format(retention_days=retention_days, revoke_give_up_days=revoke_give_up_days),
        ))
    return entries


def uncovered_tables(*, registry=None, metadata=None) -> list[str]:
    """Tables neither declared by their model nor excluded (should be empty).

    Walks every table of the metadata, so a plain `db.Table` without a model counts too.
    `registry`/`metadata` default to the app's (`db.Model`); tests pass their own."""
    declared = {cls.__tablename__ for cls, _ in _declared_models(registry)}
    tables = (metadata if metadata is not None else db.metadata).tables
    return sorted(t for t in tables if t not in declared and t not in EXCLUDED_TABLES)


def stale_exclusions() -> list[str]:
    """Excluded tables that no longer exist, or that a model also declares."""
    declared = {cls.__tablename__ for cls, _ in _declared_models()}
    return sorted(t for t in EXCLUDED_TABLES if t not in db.metadata.tables or t in declared)


def scope_purposes(scopes: Sequence[str]) -> list[tuple[str, str]]:
    """(scope, one-line purpose) for each configured scope, in configured order."""
    return [(s, SCOPE_PURPOSES.get(s, GENERIC_SCOPE_PURPOSE)) for s in scopes]


def key_protection(config: Mapping[str, Any]) -> str:
    """Where the key-encryption key lives, named without any key material or key id."""
    if config.get("KMS_KEY_ID"):
        return "AWS KMS"
    return "local key-encryption keys"


def privacy_context(config: Mapping[str, Any]) -> dict[str, Any]:
    scopes = list(config["TIKTOK_SCOPES"])
    return {
        "retention_days": config["RETENTION_DAYS"],
        "scopes": scope_purposes(scopes),
        "inventory": inventory(config["RETENTION_DAYS"], scopes, revoke_give_up_days=config["REVOKE_GIVE_UP_DAYS"]),
        "security_contact": config["SECURITY_CONTACT"],
    }


def terms_context(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"retention_days": config["RETENTION_DAYS"], "security_contact": config["SECURITY_CONTACT"]}


def security_context(config: Mapping[str, Any], when: Callable[..., str]) -> dict[str, Any]:
    """What /security shows; `when` is jobs.when (a job's schedule in words)."""
    from app.services import architecture

    diagram = architecture.describe(config, when)
    return {
        "retention_days": config["RETENTION_DAYS"],
        "revoke_give_up_days": config["REVOKE_GIVE_UP_DAYS"],
        "key_protection": key_protection(config),
        "uses_kms": bool(config.get("KMS_KEY_ID")),
        "jobs": scheduled_jobs(when),
        "diagram": architecture.render_svg(diagram),
        "diagram_text": diagram.sentences(),
        "security_contact": config["SECURITY_CONTACT"],
    }
