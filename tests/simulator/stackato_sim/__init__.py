"""A simulator of HPE Helion Stackato 3.x's kato and Sentinel, for tests.

It follows shared/reference/kato-contract.md; docs/dev/simulator.md fixes its internals.
Standard library only: it runs on the node image's python3.
"""
