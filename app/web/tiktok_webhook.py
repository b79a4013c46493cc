"""TikTok's webhook (`POST /tiktok/webhook`): called by TikTok, not a browser, so it is
CSRF-exempt and authenticated by its `TikTok-Signature` instead, checked over the raw
body before anything is parsed (app/services/webhooks.py). The body is capped by
MAX_CONTENT_LENGTH (413). No TikTok calls happen here, so it answers at once."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, request

from app.extensions import csrf, db
from app.services import webhooks
from app.tiktok.webhook import SIGNATURE_HEADER

bp = Blueprint("tiktok_webhook", __name__)


@bp.post("/tiktok/webhook")
@csrf.exempt
def webhook():
    cfg = current_app.config
    try:
        outcome = webhooks.receive(request.get_data(cache=False), request.headers.get(SIGNATURE_HEADER),
                                   secret=cfg["TIKTOK_CLIENT_SECRET"] or "", client_key=cfg["TIKTOK_CLIENT_KEY"] or "",
                                   now=datetime.now(timezone.utc), retention_days=cfg["RETENTION_DAYS"])
    except webhooks.Rejected as e:
        db.session.rollback()
        return jsonify({"error": str(e)}), e.status
    db.session.commit()
    return jsonify({"status": outcome.status})
