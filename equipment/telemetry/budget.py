"""Per-terminal message budgets (token buckets): one terminal cannot crowd out the others.

A terminal that floods (300,000 states in 15 s were measured) made every other terminal's messages wait
seconds before they were stored, a trapped passenger's event included. Each terminal gets a sustained
rate and a burst, separately for events (rare, urgent: generous) and for states and online messages;
what is over budget is rejected as ``rate_limited`` (counted like every reject) before it costs a write.
Buckets refill on the consumer's receive time (a terminal's own timestamps are its to forge). So a
backlog that the broker held for one terminal during a consumer outage arrives in one rush: the burst
is what absorbs it (a terminal sends a heartbeat state every 60 s and states on change).
"""
from __future__ import annotations

from dataclasses import dataclass

REASON = "rate_limited"
MAX_TRACKED = 500_000  # terminals; beyond this the table restarts (every bucket full again)


@dataclass(frozen=True, slots=True)
class Budget:
    rate_per_s: float
    burst: float

    @classmethod
    def parse(cls, text: str) -> "Budget":
        """``"20/100"``: 20 messages a second sustained, bursts of up to 100."""
        rate, _, burst = str(text).partition("/")
        budget = cls(float(rate), float(burst or rate))
        if budget.rate_per_s <= 0 or budget.burst < 1:
            raise ValueError(f"a terminal budget wants 'rate/burst' with rate > 0 and burst >= 1, not {text!r}")
        return budget


class TerminalBudgets:
    def __init__(self, *, states: Budget, events: Budget):
        self.budgets = {"event": events, "state": states}
        self._buckets: dict[tuple[str, str], list[float]] = {}  # (terminal, kind) -> [tokens, at]

    def allow(self, terminal_id: str, kind: str, at: float) -> bool:
        kind = "event" if kind == "event" else "state"  # online messages count with the states
        budget = self.budgets[kind]
        bucket = self._buckets.get((terminal_id, kind))
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._buckets.clear()
            bucket = self._buckets[(terminal_id, kind)] = [budget.burst, at]
        elif at > bucket[1]:
            bucket[0] = min(budget.burst, bucket[0] + (at - bucket[1]) * budget.rate_per_s)
            bucket[1] = at
        if bucket[0] < 1.0:
            return False
        bucket[0] -= 1.0
        return True


def admit(budgets: TerminalBudgets | None, accepted: list, rejects: dict) -> list:
    """Ingest's (msg, item, equipment_id) entries within their terminals' budgets, events first (a
    terminal's trapped event is charged before its own states); the rest go to rejects as rate_limited."""
    events = [a for a in accepted if a[0].kind == "event"]
    ordered = events + [a for a in accepted if a[0].kind != "event"] if events else accepted
    if budgets is None:
        return ordered
    allow, out = budgets.allow, []
    for entry in ordered:
        msg, item = entry[0], entry[1]
        if allow(msg.terminal_id, msg.kind, item.received):
            out.append(entry)
        else:
            rejects.setdefault(REASON, []).append(msg.terminal_id)
    return out


def from_config(app_config) -> TerminalBudgets:
    return TerminalBudgets(states=Budget.parse(app_config.get("TERMINAL_STATE_BUDGET", "20/100")),
                           events=Budget.parse(app_config.get("TERMINAL_EVENT_BUDGET", "20/300")))
