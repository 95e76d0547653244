"""The model registry: fitted detectors stored as joblib bytes in ``fraud_model_version``
with the sha256 of the artefact and of the training matrix, the parameters and the metrics;
a version number per kind; the newest version of a kind is the one in force."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from typing import Any

import joblib
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import Actor
from fraud.enums import ModelKind
from fraud.models import ModelVersion


def save(
    session: Session,
    actor: Actor,
    *,
    kind: ModelKind,
    artefact: Any,
    training_hash: str,
    rows: int,
    positives: int,
    period: date,
    features: list[str],
    parameters: dict[str, Any],
    metrics: dict[str, Any],
) -> ModelVersion:
    """Store ``artefact`` as the next version of ``kind``."""
    buffer = io.BytesIO()
    joblib.dump(artefact, buffer, compress=3)
    blob = buffer.getvalue()
    # Two trainings at once: the unique (kind, version) index refuses the second one.
    version = (
        session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.kind == kind)) or 0
    ) + 1
    row = ModelVersion(
        kind=kind.value,
        version=version,
        artefact=blob,
        artefact_sha256=hashlib.sha256(blob).hexdigest(),
        training_hash=training_hash,
        training_rows=rows,
        training_positives=positives,
        period=period,
        features=features,
        parameters=parameters,
        metrics=metrics,
        trained_by=actor.username,
    )
    session.add(row)
    session.flush()
    return row


def latest(session: Session, kind: ModelKind) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion)
        .where(ModelVersion.kind == kind.value)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    ).first()


def load(row: ModelVersion) -> Any:
    """The fitted artefact back (checked against its stored sha256)."""
    if hashlib.sha256(row.artefact).hexdigest() != row.artefact_sha256:
        raise ValueError(f"model {row.kind} v{row.version}: artefact does not match its hash")
    return joblib.load(io.BytesIO(row.artefact))


def versions(session: Session) -> list[ModelVersion]:
    return list(
        session.scalars(select(ModelVersion).order_by(ModelVersion.kind, ModelVersion.version))
    )
