"""Rating many accounts with the one pure rating function, fast.

``rate`` depends only on (tariff versions, period, category, connection type, subscribed
kVA, kWh per register): customers on the same tariff and period with the same
consumption get the same bill. A run rates each distinct input once and shares the
(immutable) ``Bill``; nothing else differs from calling ``rate`` per account, so a
simulation and its issue, which both come here, give identical lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.tariffs import repository as tariffs
from billing.tariffs.proration import TariffVersions
from billing.tariffs.rating import Bill, BillableUsage, rate
from core.periods import Period

# Distinct bills kept (a few kB each): whole-kWh consumption repeats within a few hundred
# values per tariff and period; decimal kWh from smart meters would not, so the memo is
# emptied when full rather than grow with the run.
MEMO_LIMIT = 50_000

Key = tuple[str, Period, str, str, Decimal | None, tuple[tuple[str, Decimal], ...]]


@dataclass
class Rater:
    """Memoised ``rate`` over one session's tariff book."""

    session: Session
    _versions: dict[tuple[str, Period], TariffVersions] = field(default_factory=dict)
    _bills: dict[Key, Bill] = field(default_factory=dict)
    # The caller's own cheaper key (a run item's raw values) -> the same shared Bill.
    seen: dict[tuple[object, ...], Bill] = field(default_factory=dict)

    def versions(self, code: str, period: Period) -> TariffVersions:
        key = (code, period)
        if key not in self._versions:
            self._versions[key] = tariffs.versions_for(self.session, code, period)
        return self._versions[key]

    def bill(
        self,
        tariff_code: str,
        period: Period,
        kwh: Mapping[str, Decimal],
        *,
        category: str,
        connection_type: str,
        subscribed_kva: Decimal | None,
    ) -> Bill:
        key: Key = (
            tariff_code,
            period,
            category,
            connection_type,
            subscribed_kva,
            tuple(sorted(kwh.items())),
        )
        found = self._bills.get(key)
        if found is None:
            usage = BillableUsage(period, dict(kwh), category, connection_type, subscribed_kva)
            found = rate(self.versions(tariff_code, period), usage)
            if len(self._bills) >= MEMO_LIMIT:  # metered decimals: few repeats, bound memory
                self._bills.clear()
                self.seen.clear()
            self._bills[key] = found
        return found
