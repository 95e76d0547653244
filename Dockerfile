# Kilowatch API / worker image. Build: docker build -t kilowatch .
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 kilowatch
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY core core
COPY gis gis
COPY customers customers
COPY meters meters
COPY billing billing
COPY field field
COPY fraud fraud
COPY revenue_protection revenue_protection
COPY mobile_sync mobile_sync
COPY api api
COPY kilowatch kilowatch
COPY migrations migrations
RUN pip install -e . && mkdir -p /app/.kilowatch && chown kilowatch /app/.kilowatch
USER kilowatch
EXPOSE 8000
CMD ["kilowatch", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
