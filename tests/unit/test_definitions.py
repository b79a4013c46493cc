"""Each metric is defined once, as one plain sentence under a short label."""
import re

import pytest

from app.services.definitions import DEFINITIONS, for_keys


def test_every_definition_is_one_sentence_under_a_short_label():
    for key, d in DEFINITIONS.items():
        assert d.key == key and 0 < len(d.label) <= 30, key
        assert d.text[0].isupper() and d.text.endswith("."), key
        assert not re.search(r"\.\s+[A-Z]", d.text), f"{key}: more than one sentence"


def test_the_figures_pages_ask_for_are_defined():
    # the dashboard's list, the five, and what the post and audience pages show
    for key in ("views", "followers_gained", "engagement_rate", "pp", "reach", "watch_through", "cadence",
                "saves", "average_watch_time", "retention", "traffic_sources", "viewer_types", "ctr", "cpm",
                "active_followers", "new_lost_followers", "paid_impressions", "paid_views", "post_followers"):
        assert key in DEFINITIONS, key


def test_for_keys_keeps_the_order_and_names_an_unknown_key():
    assert [d.key for d in for_keys("pp", "views")] == ["pp", "views"]
    with pytest.raises(KeyError, match="engagment"):
        for_keys("engagment")


def test_pp_and_engagement_say_what_the_metrics_module_computes():
    assert "difference between two percentages" in DEFINITIONS["pp"].text
    assert "not an average" in DEFINITIONS["engagement_rate"].text
