"""Walking order of a round's stops: an open path through every stop, as short as
OR-Tools finds, over straight-line metric distances.

Coordinates are metres in the deployment's projected CRS (``KILOWATCH_PROJECTED_CRS``,
e.g. a UTM zone), never degrees: a degree of longitude is not a degree of latitude.
Distances are rounded to whole decimetres for the solver (it works on integers). The
path starts at ``start`` (a stop index) and ends wherever is shortest (a dummy end node at
zero distance from every stop), so the reader is not walked back to the start.

Small rounds are solved by greedy descent after the cheapest-arc first solution (the
same result on every run: tests pin it); larger ones get guided local search within a time
budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

Point = tuple[float, float]
DECIMETRES = 10.0


def path_length(points: Sequence[Point], order: Sequence[int]) -> float:
    """Metres walked visiting ``points`` (projected, metres) in ``order``."""
    return float(
        sum(math.dist(points[order[i]], points[order[i + 1]]) for i in range(len(order) - 1))
    )


def start_stop(points: Sequence[Point]) -> int:
    """The default first stop: the south-westernmost (smallest x + y), a fixed corner so
    that an open path has one direction."""
    return min(range(len(points)), key=lambda i: (points[i][0] + points[i][1], i))


def order_stops(
    points: Sequence[Point],
    *,
    start: int | None = None,
    time_limit_s: float | None = None,
) -> list[int]:
    """Indexes of ``points`` (projected metres) in walking order, beginning at ``start``
    (default: ``start_stop``). ``time_limit_s`` turns on guided local search (default:
    on above 60 stops, one second per 100 stops, at most 30)."""
    n = len(points)
    if n <= 2:
        first = start if start is not None else (start_stop(points) if n else 0)
        return [first] + [i for i in range(n) if i != first]
    first = start if start is not None else start_stop(points)
    xy = np.asarray(points, dtype=float)
    metres = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    # Node n is the dummy end: reached from anywhere for free.
    matrix = np.zeros((n + 1, n + 1), dtype=np.int64)
    matrix[:n, :n] = np.rint(metres * DECIMETRES).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n + 1, 1, [first], [n])
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitMatrix(matrix.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    if time_limit_s is None and n > 60:
        time_limit_s = min(30.0, max(1.0, n / 100))
    if time_limit_s:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    else:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        )
    solution = routing.SolveWithParameters(params)
    if solution is None:  # cannot happen on a complete graph; keep the given order
        return [first] + [i for i in range(n) if i != first]
    order: list[int] = []
    index = routing.Start(0)
    while not routing.IsEnd(index):
        order.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    return order


def nearest_neighbour(points: Sequence[Point], *, start: int | None = None) -> list[int]:
    """The plain greedy walk (always to the closest unvisited stop): a floor to compare
    the solver with."""
    n = len(points)
    if not n:
        return []
    xy = np.asarray(points, dtype=float)
    current = start if start is not None else start_stop(points)
    left = np.ones(n, dtype=bool)
    left[current] = False
    order = [current]
    for _ in range(n - 1):
        distance = np.hypot(*(xy - xy[current]).T)
        distance[~left] = np.inf
        current = int(np.argmin(distance))
        left[current] = False
        order.append(current)
    return order
