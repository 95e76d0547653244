"""The SQL behind ``series``: what a usage point is and where it hangs, its zone's NTL
share, and the set-based reference forms of the monthly energy and read counts
(``ENERGY``, ``READS``: ``fraud.features.energy`` computes both in numpy from one stream of
the window's reads, and a test holds it equal to these), one statement each over all the
months at once (readings are partitioned by month: the window
keeps the scan to the months asked plus a margin).

Energy follows ``fraud.alignment``'s rule (each interval between consecutive index points
spread at a constant rate; a month gets the share of the advance falling inside it; a month
only partly covered while the meter was fitted is scaled up to the fitted time), so a
usage point's months and its zone's balance add up the same way. Shares are computed in
float8 (``date_part``, not ``extract``'s numeric): features need no exact kWh, and numeric
aggregation over a network's months costs several times more.
"""


def month_no(instant: str) -> str:
    """SQL: the window's month number (0 = the first) of a timestamptz: a binary search of
    the months' UTC starts (``width_bucket`` over the sorted array: no time-zone arithmetic
    per row). Before the window: -1; at or after the last month's start: the last month
    (callers clip to the window or filter on it)."""
    return f"(width_bucket(({instant}), CAST(:m_from AS timestamptz[])) - 1)"


# The months an instant span [t0, t1) touches inside the window, with their UTC bounds.
def months_of(t0: str, t1: str) -> str:
    first = f"greatest({month_no(t0)}, 0)"
    end = month_no(t1 + " - interval '1 microsecond'")  # t1 is exclusive
    last = f"least({end}, :months - 1)"
    return (
        f"CROSS JOIN LATERAL generate_series({first}, {last}) AS mo(k) "
        "CROSS JOIN LATERAL (SELECT (CAST(:m_from AS timestamptz[]))[mo.k + 1] AS p_from, "
        "(CAST(:m_to AS timestamptz[]))[mo.k + 1] AS p_to) b"
    )


INSTALLATIONS = """inst AS (
  SELECT i.id AS installation_id, i.usage_point_id, i.installed_at, i.removed_at,
         (i.start_indexes ->> r.code)::numeric AS start_index,
         (i.end_indexes ->> r.code)::numeric AS end_index,
         power(10::numeric, m.dial_digits) AS capacity, m.multiplier, r.id AS register_id
  FROM meter_installation i
  JOIN meter_asset m ON m.id = i.meter_id
  JOIN meter_register r ON r.meter_id = m.id AND r.code = 'total'
  WHERE i.register_set = 'main' AND i.installed_at < :w_to
    AND (i.removed_at IS NULL OR i.removed_at > :w_from)
    AND (CAST(:ids AS bigint[]) IS NULL OR i.usage_point_id = ANY(CAST(:ids AS bigint[])))
)"""

ENERGY = f"""
WITH {INSTALLATIONS}, points AS (
  SELECT installation_id, installed_at AS at, 0 AS kind, start_index AS value
  FROM inst WHERE installed_at >= :w_from
  UNION ALL
  SELECT inst.installation_id, rd.read_at, 1, rd.value
  FROM inst JOIN meter_reading rd ON rd.register_id = inst.register_id
   AND rd.installation_id = inst.installation_id
  WHERE rd.status IN ('accepted', 'flagged') AND rd.read_at >= :w_from AND rd.read_at < :w_to
  UNION ALL
  SELECT installation_id, removed_at, 2, end_index
  FROM inst WHERE removed_at IS NOT NULL AND removed_at < :w_to
), steps AS (
  SELECT i.usage_point_id AS owner, lag(p.at) OVER w AS t0, p.at AS t1,
         p.value - lag(p.value) OVER w AS delta, i.capacity, i.multiplier
  FROM points p JOIN inst i USING (installation_id)
  WINDOW w AS (PARTITION BY p.installation_id ORDER BY p.at, p.kind)
), intervals AS (
  SELECT owner, t0, t1, date_part('epoch', t1 - t0) AS span_s,
         ((CASE WHEN delta >= 0 THEN delta ELSE delta + capacity END) * multiplier)::float8
           AS kwh
  FROM steps WHERE t0 IS NOT NULL AND t1 > t0
), shares AS (
  SELECT s.owner, mo.k,
         sum(s.kwh * date_part('epoch', least(s.t1, b.p_to) - greatest(s.t0, b.p_from))
             / s.span_s) AS kwh,
         sum(date_part('epoch', least(s.t1, b.p_to) - greatest(s.t0, b.p_from))) AS covered_s
  FROM intervals s {months_of("s.t0", "s.t1")}
  WHERE s.t0 < :f_to AND s.t1 > :f_from
  GROUP BY s.owner, mo.k
), fitted AS (
  SELECT inst.usage_point_id, mo.k,
         sum(date_part('epoch', least(coalesce(inst.removed_at, b.p_to), b.p_to)
                              - greatest(inst.installed_at, b.p_from))) AS fitted_s
  FROM inst {months_of("inst.installed_at", "coalesce(inst.removed_at, :f_to)")}
  WHERE inst.installed_at < :f_to AND (inst.removed_at IS NULL OR inst.removed_at > :f_from)
  GROUP BY inst.usage_point_id, mo.k
)
SELECT f.usage_point_id, f.k, (sh.kwh * f.fitted_s / sh.covered_s)::float8 AS kwh
FROM fitted f LEFT JOIN shares sh ON sh.owner = f.usage_point_id AND sh.k = f.k
"""

# Every read stored for the usage point's main registers, whatever its outcome.
READS = f"""
WITH {INSTALLATIONS}
SELECT inst.usage_point_id, {month_no("rd.read_at")} AS k,
       count(*) FILTER (WHERE rd.status IN ('accepted', 'flagged') AND rd.source <> 'estimated')
         AS actual,
       count(*) FILTER (WHERE rd.source = 'estimated' AND rd.status IN ('accepted', 'flagged'))
         AS estimated,
       count(*) FILTER (WHERE rd.status = 'rejected') AS rejected,
       count(*) FILTER (WHERE rd.status = 'flagged') AS flagged
FROM inst JOIN meter_reading rd ON rd.register_id = inst.register_id
 AND rd.installation_id = inst.installation_id
WHERE rd.read_at >= :f_from AND rd.read_at < :f_to
GROUP BY 1, 2
"""

# What a usage point is and where it hangs: zone, category (its position in
# :categories, 0 when not there), subscribed power, its premises' and its transformer's
# longitude and latitude (EPSG:4326; the distance is computed in numpy, in the projected
# CRS). Fixed-width NOT NULL columns (``core.bulk_read``): -1 and NaN stand for NULL.
ATTRIBUTES = """
SELECT up.id, coalesce(sp.transformer_id, -1), coalesce(sp.feeder_id, -1),
       coalesce(array_position(CAST(:categories AS text[]), up.category), 0)::int2,
       coalesce(up.subscribed_power_kva::float8, 'NaN'::float8),
       coalesce(ST_X(sp.geom), 'NaN'::float8), coalesce(ST_Y(sp.geom), 'NaN'::float8),
       coalesce(ST_X(t.geom), 'NaN'::float8), coalesce(ST_Y(t.geom), 'NaN'::float8)
FROM customer_usage_point up
JOIN customer_service_location sl ON sl.id = up.service_location_id
LEFT JOIN gis_service_point sp ON sp.id = sl.service_point_id
LEFT JOIN gis_power_transformer t ON t.id = sp.transformer_id
WHERE CAST(:ids AS bigint[]) IS NULL OR up.id = ANY(CAST(:ids AS bigint[]))
"""
ATTRIBUTE_COLUMNS = {
    "id": "int8",
    "transformer_id": "int8",
    "feeder_id": "int8",
    "category": "int2",
    "subscribed_kva": "float8",
    "x": "float8",
    "y": "float8",
    "t_x": "float8",
    "t_y": "float8",
}

# The zones' NTL share: the mean of its analysable months among the period and the two
# before (the period's own balance often waits for reads: its tail is still estimated);
# no row when none of them is analysable.
ZONE_NTL = """
SELECT transformer_id, feeder_id, avg(ntl_share)::float8, avg(ntl_kwh)::float8
FROM fraud_zone_balance
WHERE analysable AND period_start <= :period
  AND period_start > CAST(:period AS date) - interval '3 months'
GROUP BY transformer_id, feeder_id
"""

# Move-ins: the window month (0 = the first) of the latest contract starting in the window
# at each usage point (a new occupant, or a first connection): consumption may rightly
# change then. Local calendar dates, so the month is the date's own.
MOVE_INS = """
SELECT usage_point_id, max(date_part('year', start_date) * 12 + date_part('month', start_date)
                           - :base)::int4
FROM customer_contract
WHERE start_date >= CAST(:first AS date) AND start_date <= CAST(:period AS date) + 31
  AND date_part('year', start_date) * 12 + date_part('month', start_date) - :base < :months
  AND (CAST(:ids AS bigint[]) IS NULL OR usage_point_id = ANY(CAST(:ids AS bigint[])))
GROUP BY usage_point_id
"""
MOVE_IN_COLUMNS = {"usage_point_id": "int8", "month": "int4"}

# The transformer zones' NTL in kWh, month by month (analysable months only).
ZONE_NTL_MONTHS = """
SELECT transformer_id, (date_part('year', period_start) * 12 + date_part('month', period_start)
                        - :base)::int4, ntl_kwh::float8
FROM fraud_zone_balance
WHERE analysable AND transformer_id IS NOT NULL AND ntl_kwh IS NOT NULL
  AND period_start >= CAST(:first AS date) AND period_start <= CAST(:period AS date)
"""
