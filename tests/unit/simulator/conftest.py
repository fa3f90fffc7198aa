"""Fixtures of the simulator's unit tests; the cluster helper itself is in simcluster.py."""

from __future__ import annotations

import pytest

from simcluster import SimCluster


@pytest.fixture
def sim_cluster(tmp_path):
    """Factory: sim_cluster(nodes=[...], apps=[...], config={}, upstream=False, ...) ->
    SimCluster (see SimCluster.make). Every cluster made is stopped at teardown."""
    made = []

    def make(**kwargs) -> SimCluster:
        base = tmp_path / f"cluster{len(made)}"
        cluster = SimCluster.make(base, **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()
