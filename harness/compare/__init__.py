"""genbench compare: two sets of results side by side, with the statistics that say
whether a difference is a change (see docs/regression-tracking.md)."""
