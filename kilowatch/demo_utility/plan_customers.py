"""Plan the customer side of the demo utility (pure numpy, deterministic in the seed):
parties, premises at service points, usage points, accounts, contracts with roles and
history, cases and interactions. Rows refer to each other by local position; the writer
turns positions into database ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy.spatial import cKDTree

from kilowatch.demo_utility import names
from kilowatch.demo_utility.network_input import NetworkInput
from kilowatch.demo_utility.profiles import COM, IND, PL, RES, month_starts

PUBLIC_LIGHTING_SHARE = 0.015
ORGANISATION_SHARE = {RES: 0.0, COM: 0.55, IND: 1.0, PL: 1.0}
TENANT_SHARE = 0.18  # of homes: rented, with the landlord recorded as owner
MOVE_SHARE = 0.06  # premises whose previous occupant moved out (a contract history)
DISCONNECTED_SHARE = 0.01
KVA_CHOICES = {
    RES: ((1.1, 2.2, 3.3, 4.4, 6.6), (0.18, 0.42, 0.22, 0.11, 0.07)),
    COM: ((4.4, 6.6, 9.0, 13.2, 17.3, 22.0), (0.1, 0.25, 0.25, 0.2, 0.12, 0.08)),
    IND: ((36.0, 50.0, 100.0, 160.0, 250.0), (0.3, 0.3, 0.25, 0.1, 0.05)),
    PL: ((3.0, 6.0, 9.0), (0.5, 0.35, 0.15)),
}
CASE_TYPES = ("complaint", "meter_check", "data_correction", "dispute", "connection_request")
CASE_SUBJECTS = {
    "complaint": ("Facture trop élevée", "Coupures fréquentes", "Tension trop basse"),
    "meter_check": ("Compteur qui tourne trop vite", "Afficheur du compteur éteint"),
    "data_correction": ("Erreur dans le nom sur la facture", "Changement de numéro"),
    "dispute": ("Contestation de la facture", "Contestation d'une pénalité"),
    "connection_request": ("Demande d'augmentation de puissance", "Nouveau branchement"),
}
INTERACTION_CHANNELS = (("phone", 0.4), ("desk", 0.3), ("sms", 0.15), ("field", 0.1), ("web", 0.05))
EARTH_M_PER_DEG = 111_320.0


@dataclass
class CustomerPlan:
    """Everything about the N customers except meters and energy. Dates are ``date``."""

    n: int
    sp_index: np.ndarray
    category: np.ndarray
    kva: np.ndarray
    phases: np.ndarray
    is_org: np.ndarray
    first_name: list[str | None]
    last_name: list[str | None]
    org_name: list[str | None]
    display_name: list[str]
    phone: list[str]
    phone2: list[str | None]
    email: list[str | None]
    doc_type: list[str]
    lon: np.ndarray
    lat: np.ndarray
    address_line: list[str]
    unit: list[str | None]
    district: list[str]
    city: list[str]
    region: list[str]
    landmark: list[str | None]
    delivery_channel: list[str]
    disconnect_month: np.ndarray  # -1: connected
    # Contracts (K >= N): the first N are the current ones, contract i at usage point i.
    ct_party: np.ndarray
    ct_usage_point: np.ndarray
    ct_start: list[date]
    ct_end: list[date | None]
    ct_status: list[str]
    ct_tariff: list[str]
    role_contract: np.ndarray
    role_party: np.ndarray
    role_name: list[str]
    # Cases and their interactions; more interactions without a case.
    case_party: np.ndarray
    case_type: list[str]
    case_subject: list[str]
    case_opened: list[date]
    case_steps: list[list[tuple[str, str, str, int]]]  # (event, from, to, days after opening)
    it_party: np.ndarray
    it_case: np.ndarray  # -1: none
    it_channel: list[str]
    it_direction: list[str]
    it_day: list[date]
    it_subject: list[str]
    stats: dict[str, int] = field(default_factory=dict)


def _pick(rng: np.random.Generator, words: tuple[str, ...], size: int) -> np.ndarray:
    return np.asarray(words, dtype=object)[rng.integers(0, len(words), size)]


def _assign_service_points(rng: np.random.Generator, n_sp: int, n: int) -> np.ndarray:
    """Premises per service point: distinct points while there are enough, then several
    premises (flats, shops) on the busiest points. Sorted, so premises follow the network."""
    if n <= n_sp:
        return np.sort(rng.choice(n_sp, size=n, replace=False))
    extra = rng.integers(0, n_sp, size=n - n_sp)
    return np.sort(np.concatenate([np.arange(n_sp), extra]))


def _categories(rng: np.random.Generator, net: NetworkInput, sp_index: np.ndarray) -> np.ndarray:
    category = net.sp_category[sp_index].copy()  # the generator's 0/1/2 = RES/COM/IND
    lighting = (category == RES) & (rng.random(len(sp_index)) < PUBLIC_LIGHTING_SHARE)
    category[lighting] = PL
    return category


def _kva(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    kva = np.zeros(len(category))
    for cat, (values, weights) in KVA_CHOICES.items():
        mask = category == cat
        kva[mask] = rng.choice(values, size=int(mask.sum()), p=weights)
    return kva


def _phones(rng: np.random.Generator, n: int) -> tuple[list[str], list[str | None]]:
    prefixes = _pick(rng, names.MOBILE_PREFIXES, 2 * n)
    # Distinct subscriber numbers: a sample without replacement of 6-digit suffixes per
    # prefix would be enough; drawing 2n from 10^6 x prefixes keeps it simple and unique.
    suffix = rng.choice(1_000_000, size=2 * n, replace=2 * n > 1_000_000)
    numbers = [f"+229{p}{s:06d}" for p, s in zip(prefixes.tolist(), suffix.tolist(), strict=True)]
    second = rng.random(n) < 0.25
    return numbers[:n], [numbers[n + i] if second[i] else None for i in range(n)]


def _slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _parties(rng: np.random.Generator, category: np.ndarray, district: list[str]) -> dict:
    n = len(category)
    share = np.array([ORGANISATION_SHARE[c] for c in range(4)])[category]
    is_org = rng.random(n) < share
    female = rng.random(n) < 0.48
    first = np.where(female, _pick(rng, names.FEMALE_FIRST, n), _pick(rng, names.MALE_FIRST, n))
    last = _pick(rng, names.SURNAMES, n)
    kinds = _pick(rng, names.BUSINESS_KINDS, n)
    labels = _pick(rng, names.BUSINESS_NAMES, n)
    industry = _pick(rng, names.INDUSTRY_KINDS, n)
    org_name: list[str | None] = []
    for i in range(n):
        if not is_org[i]:
            org_name.append(None)
        elif category[i] == PL:
            org_name.append(f"Mairie - Éclairage public {district[i]} {i % 97 + 1}")
        elif category[i] == IND:
            org_name.append(f"{industry[i]} {last[i]}")
        elif kinds[i] == "Ets":
            org_name.append(f"Ets {last[i]} & Fils")
        else:
            org_name.append(f"{kinds[i]} {labels[i]}")
    display = [
        org if org else f"{f} {ln.upper()}"
        for org, f, ln in zip(org_name, first.tolist(), last.tolist(), strict=True)
    ]
    has_email = rng.random(n) < np.where(is_org, 0.6, 0.15)
    domains = _pick(rng, names.EMAIL_DOMAINS, n)
    email = [
        (
            f"contact@{_slug(org_name[i] or '')[:20]}{i}.bj"
            if is_org[i]
            else f"{_slug(first[i])}.{_slug(last[i])}{i}@{domains[i]}"
        )
        if has_email[i]
        else None
        for i in range(n)
    ]
    return {
        "is_org": is_org,
        "first_name": [None if is_org[i] else first[i] for i in range(n)],
        "last_name": [None if is_org[i] else last[i] for i in range(n)],
        "org_name": org_name,
        "display_name": display,
        "email": email,
        "doc_type": ["tax_id" if o else "national_id" for o in is_org.tolist()],
    }


def _addresses(rng: np.random.Generator, net: NetworkInput, sp_index: np.ndarray) -> dict:
    """Quartiers are areas around random seeds; the commune follows the direction from the
    centre (Abomey-Calavi to the north-west, Sèmè-Podji to the east)."""
    n = len(sp_index)
    lon0, lat0 = net.centre
    scale = np.cos(np.radians(lat0))
    n_sp = net.service_points
    xy = np.column_stack([(net.sp_lon - lon0) * scale, net.sp_lat - lat0]) * EARTH_M_PER_DEG
    places = [(city, region, q) for (city, region), qs in names.QUARTIERS.items() for q in qs]
    seeds = rng.choice(n_sp, size=min(len(places), n_sp), replace=False)
    _, nearest = cKDTree(xy[seeds]).query(xy[sp_index])
    radius = np.hypot(xy[sp_index, 0], xy[sp_index, 1])
    outer = radius > np.quantile(radius, 0.7) if n else radius > 0
    west = xy[sp_index, 0] < 0
    cotonou = [p for p in places if p[0] == "Cotonou"]
    calavi = [p for p in places if p[0] == "Abomey-Calavi"]
    seme = [p for p in places if p[0] == "Sèmè-Podji"]
    chosen = []
    for i in range(n):
        group = (calavi if west[i] else seme) if outer[i] else cotonou
        chosen.append(group[int(nearest[i]) % len(group)])
    carre = sp_index * 7 % 3000 + 100
    first_at_sp = np.r_[True, sp_index[1:] != sp_index[:-1]] if n else np.zeros(0, bool)
    rank = np.arange(n) - np.maximum.accumulate(np.where(first_at_sp, np.arange(n), 0))
    surname = _pick(rng, names.SURNAMES, n)
    landmark_on = rng.random(n) < 0.4
    landmark = _pick(rng, names.LANDMARKS, n)
    jitter = rng.normal(0.0, 6.0, size=(n, 2)) / EARTH_M_PER_DEG  # premises a few metres off
    return {
        "lon": net.sp_lon[sp_index] + jitter[:, 0] / scale,
        "lat": net.sp_lat[sp_index] + jitter[:, 1],
        "address_line": [
            f"Carré {c}, maison {s}" for c, s in zip(carre.tolist(), surname.tolist(), strict=True)
        ],
        "unit": [
            f"Porte {r + 1}" if r or not first_at_sp[i] else None
            for i, r in enumerate(rank.tolist())
        ],
        "district": [c[2] for c in chosen],
        "city": [c[0] for c in chosen],
        "region": [c[1] for c in chosen],
        "landmark": [
            f"{landmark[i]} de {chosen[i][2]}" if landmark_on[i] else None for i in range(n)
        ],
    }


def _tariff(category: int, kva: float) -> str:
    if category == RES:
        return "BT1-SOCIAL" if kva <= 1.1 else "BT1-DOM"
    if category == COM:
        return "BT2-PRO"
    if category == IND:
        return "MT-IND" if kva >= 100 else "BT3-IND"
    return "BT-EP"


def _contracts(rng: np.random.Generator, plan: dict, window_start: date, months: int) -> dict:
    """Current contracts (one per usage point), previous ones ended by a move, and roles:
    holder and payer always; tenants of a home get the tenant role and their landlord the
    owner role. Previous occupants and landlords are customers elsewhere."""
    n = len(plan["category"])
    category, kva, is_org = plan["category"], plan["kva"], plan["is_org"]
    persons = np.flatnonzero(~is_org)
    since_2008 = (window_start - date(2008, 1, 1)).days - 60
    start_offset = rng.integers(60, max(since_2008, 61), size=n)
    start = [window_start - timedelta(days=int(d)) for d in start_offset]
    movers = np.flatnonzero((rng.random(n) < MOVE_SHARE) & (category == RES))
    movers = movers if len(persons) > 1 else movers[:0]
    ct_party, ct_up = list(range(n)), list(range(n))
    ct_end: list[date | None] = [None] * n
    ct_status = ["active"] * n
    ct_tariff = [_tariff(int(c), float(k)) for c, k in zip(category, kva, strict=True)]
    ct_start = list(start)
    in_window = rng.random(len(movers)) < 0.5
    for j, u in enumerate(movers.tolist()):
        previous = int(persons[rng.integers(0, len(persons))])
        if previous == u:
            previous = int(persons[(np.searchsorted(persons, u) + 1) % len(persons)])
        if in_window[j]:
            moved = window_start + timedelta(days=int(rng.integers(90, months * 30 - 60)))
        else:
            moved = window_start - timedelta(days=int(rng.integers(60, 1500)))
        ct_start[u] = moved
        ct_party.append(previous)
        ct_up.append(u)
        ct_start.append(moved - timedelta(days=int(rng.integers(200, 2500))))
        ct_end.append(moved)
        ct_status.append("ended")
        ct_tariff.append(ct_tariff[u])
    k = len(ct_party)
    role_contract = np.repeat(np.arange(k), 2)
    role_party = np.repeat(np.asarray(ct_party), 2)
    role_name = ["holder", "payer"] * k
    tenants = np.flatnonzero((category == RES) & (rng.random(n) < TENANT_SHARE))
    landlords = persons[rng.integers(0, len(persons), size=max(1, len(persons) // 20))]
    extra_c, extra_p, extra_r = [], [], []
    for u in tenants.tolist():
        owner = int(landlords[rng.integers(0, len(landlords))])
        extra_c.append(u)
        extra_p.append(u)
        extra_r.append("tenant")
        if owner != u:
            extra_c.append(u)
            extra_p.append(owner)
            extra_r.append("owner")
    return {
        "ct_party": np.asarray(ct_party, dtype=np.int64),
        "ct_usage_point": np.asarray(ct_up, dtype=np.int64),
        "ct_start": ct_start,
        "ct_end": ct_end,
        "ct_status": ct_status,
        "ct_tariff": ct_tariff,
        "role_contract": np.concatenate([role_contract, np.asarray(extra_c, dtype=np.int64)]),
        "role_party": np.concatenate([role_party, np.asarray(extra_p, dtype=np.int64)]),
        "role_name": role_name + extra_r,
        "movers": len(movers),
        "tenants": len(tenants),
    }


def _case_steps(rng: np.random.Generator, outcome: float) -> list[tuple[str, str, str, int]]:
    steps: list[tuple[str, str, str, int]] = []
    if outcome < 0.2:
        return steps  # still open
    day = int(rng.integers(0, 3))
    steps.append(("start", "open", "in_progress", day))
    if outcome < 0.35:
        return steps
    day += int(rng.integers(1, 18))
    steps.append(("resolve", "in_progress", "resolved", day))
    if outcome < 0.5:
        return steps
    steps.append(("close", "resolved", "closed", day + int(rng.integers(1, 6))))
    return steps


def _cases(rng: np.random.Generator, n: int, window_end: date) -> dict:
    count = round(n * 0.025) if n >= 40 else min(n, 1)
    party = np.sort(rng.choice(n, size=count, replace=False)) if count else np.zeros(0, np.int64)
    types = _pick(rng, CASE_TYPES, count).tolist()
    opened = [window_end - timedelta(days=int(d)) for d in rng.integers(3, 365, size=count)]
    outcome = rng.random(count)
    subjects = [str(_pick(rng, CASE_SUBJECTS[t], 1)[0]) for t in types]
    steps = [_case_steps(rng, float(o)) for o in outcome]
    # Interactions: one at the opening of each case, and a few contacts without a case.
    loose = round(n * 0.08)
    loose_party = rng.integers(0, n, size=loose) if n else np.zeros(0, np.int64)
    channels, weights = zip(*INTERACTION_CHANNELS, strict=True)
    all_channels = rng.choice(channels, size=count + loose, p=weights).tolist()
    loose_days = [window_end - timedelta(days=int(d)) for d in rng.integers(1, 700, size=loose)]
    loose_subject = _pick(
        rng,
        (
            "Demande d'information",
            "Paiement de facture",
            "Relance",
            "Rendez-vous technicien",
            "Réclamation orale",
        ),
        loose,
    ).tolist()
    return {
        "case_party": party.astype(np.int64),
        "case_type": types,
        "case_subject": subjects,
        "case_opened": opened,
        "case_steps": steps,
        "it_party": np.concatenate([party, loose_party]).astype(np.int64),
        "it_case": np.concatenate([np.arange(count), np.full(loose, -1)]).astype(np.int64),
        "it_channel": all_channels,
        "it_direction": ["in"] * count + np.where(rng.random(loose) < 0.7, "in", "out").tolist(),
        "it_day": opened + loose_days,
        "it_subject": subjects + loose_subject,
    }


def plan_customers(
    net: NetworkInput, *, customers: int, seed: int, window_start: date, months: int
) -> CustomerPlan:
    """Plan ``customers`` customers on the network; the same inputs give the same plan."""
    rng = np.random.default_rng([seed, 5_001])
    sp_index = _assign_service_points(rng, net.service_points, customers)
    category = _categories(rng, net, sp_index)
    kva = _kva(rng, category)
    phases = np.where(kva > 6.6, 3, 1)
    addresses = _addresses(rng, net, sp_index)
    parties = _parties(rng, category, addresses["district"])
    phone, phone2 = _phones(rng, customers)
    has_email = np.array([e is not None for e in parties["email"]], dtype=bool)
    delivery = np.where(rng.random(customers) < 0.55, "sms", "paper").astype(object)
    delivery[has_email & (rng.random(customers) < 0.5)] = "email"
    disconnected = (rng.random(customers) < DISCONNECTED_SHARE) & (category != PL)
    disconnect_month = np.where(disconnected, rng.integers(12, months - 1, customers), -1)
    window_end = month_starts(window_start, months)[-1]
    contracts = _contracts(rng, {"category": category, "kva": kva, **parties}, window_start, months)
    cases = _cases(rng, customers, window_end)
    return CustomerPlan(
        n=customers,
        sp_index=sp_index,
        category=category,
        kva=kva,
        phases=phases,
        is_org=parties["is_org"],
        first_name=parties["first_name"],
        last_name=parties["last_name"],
        org_name=parties["org_name"],
        display_name=parties["display_name"],
        phone=phone,
        phone2=phone2,
        email=parties["email"],
        doc_type=parties["doc_type"],
        **addresses,
        delivery_channel=delivery.tolist(),
        disconnect_month=disconnect_month,
        **{k: v for k, v in contracts.items() if k not in {"movers", "tenants"}},
        **cases,
        stats={
            "movers": contracts["movers"],
            "tenants": contracts["tenants"],
            "organisations": int(parties["is_org"].sum()),
        },
    )
