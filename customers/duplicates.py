"""Finding parties that are probably the same customer.

Evidence, combined into a score between 0 and 1:
- trigram similarity (pg_trgm) of the normalised names (unaccent, lower case, collapsed
  spaces), weight 0.6: "koffi mensah" vs "kofi mensah" is 0.79;
- the same phone number in E.164, +0.25 (families share phones, so alone it is not enough);
- the same identity document number (any type), +0.5.
A pair scoring at least ``LIKELY_SCORE`` is a likely duplicate. Only parties of the same
kind (person / organisation) that are not merged already are compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from customers.models import Party

NAME_WEIGHT = 0.6
PHONE_WEIGHT = 0.25
DOCUMENT_WEIGHT = 0.5
LIKELY_SCORE = 0.5

# Candidate pairs (a, b) for the parties of ``a_parties``: by name (GIN trigram index, the
# `%` operator uses pg_trgm.similarity_threshold, 0.3), by phone, by document number.
_PAIRS_SQL = """
WITH a AS ({a_parties}),
name_pairs AS (
  SELECT a.id AS a_id, b.id AS b_id
  FROM a JOIN customer_party b
    ON b.normalized_name % a.normalized_name AND b.kind = a.kind AND b.status = 'active'
   AND {name_filter}
),
phone_pairs AS (
  SELECT DISTINCT pa.party_id AS a_id, pb.party_id AS b_id
  FROM a JOIN customer_party_phone pa ON pa.party_id = a.id
  JOIN customer_party_phone pb ON pb.e164 = pa.e164 AND pb.party_id {other} pa.party_id
),
doc_pairs AS (
  SELECT DISTINCT da.party_id AS a_id, db.party_id AS b_id
  FROM a JOIN customer_identity_document da ON da.party_id = a.id
  JOIN customer_identity_document db
    ON db.number_normalized = da.number_normalized AND db.party_id {other} da.party_id
),
pairs AS (
  SELECT a_id, b_id FROM name_pairs
  UNION SELECT a_id, b_id FROM phone_pairs
  UNION SELECT a_id, b_id FROM doc_pairs
)
SELECT pairs.a_id, pairs.b_id, b.display_name AS b_name,
       similarity(pa.normalized_name, b.normalized_name) AS name_similarity,
       EXISTS (SELECT 1 FROM phone_pairs x WHERE x.a_id = pairs.a_id AND x.b_id = pairs.b_id)
         AS same_phone,
       EXISTS (SELECT 1 FROM doc_pairs x WHERE x.a_id = pairs.a_id AND x.b_id = pairs.b_id)
         AS same_document
FROM pairs
JOIN customer_party pa ON pa.id = pairs.a_id
JOIN customer_party b ON b.id = pairs.b_id
WHERE b.status = 'active' AND b.kind = pa.kind AND b.id {other} pa.id
"""


@dataclass(frozen=True)
class DuplicatePair:
    party_id: int
    other_id: int
    other_name: str
    score: float
    name_similarity: float
    reasons: tuple[str, ...]


def _score(name_similarity: float, same_phone: bool, same_document: bool) -> float:
    raw = (
        NAME_WEIGHT * name_similarity
        + (PHONE_WEIGHT if same_phone else 0.0)
        + (DOCUMENT_WEIGHT if same_document else 0.0)
    )
    return round(min(1.0, raw), 3)


def _pairs(
    session: Session, sql: str, params: dict[str, object], min_score: float
) -> list[DuplicatePair]:
    found = []
    for row in session.execute(text(sql), params):
        exact_similarity = float(row.name_similarity or 0.0)
        score = _score(exact_similarity, row.same_phone, row.same_document)
        similarity = round(exact_similarity, 3)
        if score < min_score:
            continue
        reasons = tuple(
            reason
            for reason, present in (
                ("name", similarity >= 0.3),
                ("phone", row.same_phone),
                ("identity_document", row.same_document),
            )
            if present
        )
        found.append(DuplicatePair(row.a_id, row.b_id, row.b_name, score, similarity, reasons))
    found.sort(key=lambda p: (-p.score, p.other_id))
    return found


def duplicates_of(
    session: Session,
    party_id: int,
    *,
    min_score: float = LIKELY_SCORE,
    visible_ids: object | None = None,
) -> list[DuplicatePair]:
    """Likely duplicates of one party, best first. ``visible_ids`` (a select of party ids)
    limits candidates to what the caller may see."""
    a_parties = "SELECT id, kind, normalized_name FROM customer_party WHERE id = :party_id"
    sql = _PAIRS_SQL.format(a_parties=a_parties, name_filter="b.id <> a.id", other="<>")
    pairs = _pairs(session, sql, {"party_id": party_id}, min_score)
    if visible_ids is not None and pairs:
        allowed = set(
            session.scalars(
                select(Party.id).where(
                    Party.id.in_([p.other_id for p in pairs]), Party.id.in_(visible_ids)
                )
            )
        )
        pairs = [p for p in pairs if p.other_id in allowed]
    return pairs


def scan_duplicates(
    session: Session, *, min_score: float = LIKELY_SCORE, batch_size: int = 2000
) -> Iterator[tuple[int, list[DuplicatePair]]]:
    """Every likely duplicate pair (each once, lower id first), by batches of party ids;
    yields (parties scanned so far, pairs of this batch) so a caller can show progress."""
    bounds = session.execute(
        select(func.min(Party.id), func.max(Party.id)).where(Party.status == "active")
    ).one()
    if bounds[0] is None:
        return
    a_parties = (
        "SELECT id, kind, normalized_name FROM customer_party "
        "WHERE status = 'active' AND id >= :lo AND id < :hi"
    )
    # Pairs are symmetric: keep each once, lower id first.
    sql = _PAIRS_SQL.format(a_parties=a_parties, name_filter="b.id > a.id", other=">")
    lo, top = int(bounds[0]), int(bounds[1])
    while lo <= top:
        hi = lo + batch_size
        yield (
            min(hi, top + 1) - int(bounds[0]),
            _pairs(session, sql, {"lo": lo, "hi": hi}, min_score),
        )
        lo = hi


def active_party_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Party.status == "active")) or 0)
