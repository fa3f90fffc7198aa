"""Fixtures of the simulator's unit tests; the cluster helper itself is in simcluster.py."""

from __future__ import annotations

import pytest

from simcluster import SimCluster


def _factory(base_dir):
    made = []

    def make(**kwargs) -> SimCluster:
        cluster = SimCluster.make(base_dir / f"cluster{len(made)}", **kwargs)
        made.append(cluster)
        return cluster

    return make, made


@pytest.fixture
def sim_cluster(tmp_path):
    """Factory: sim_cluster(nodes=[...], apps=[...], config={}, upstream=False, ...) ->
    SimCluster (see SimCluster.make). Every cluster made is stopped at teardown."""
    make, made = _factory(tmp_path)
    yield make
    for cluster in made:
        cluster.close()


@pytest.fixture(scope="module")
def sim_cluster_module(tmp_path_factory):
    """sim_cluster for a whole test module: only for clusters that its tests do not change."""
    make, made = _factory(tmp_path_factory.mktemp("module"))
    yield make
    for cluster in made:
        cluster.close()
