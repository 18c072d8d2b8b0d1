"""Cost attribution (team, feature, tenant on the cost and token counters), per-user budgets
without a series per user, and ``llm-exporter estimate`` (the cost of a prompt change before it
ships)."""

from .attribution import (
    attribute,
    configure_attribution,
    reset_attribution,
    set_attribution,
)
from .users import configure_user_budgets

__all__ = [
    "attribute",
    "configure_attribution",
    "configure_user_budgets",
    "reset_attribution",
    "set_attribution",
]
