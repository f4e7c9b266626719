"""Schemathesis hooks for scripts/test-api: the credentials the run uses are left alone.

Generated and linked requests may name any user or ingest key; those that name the run's own
account or key (VIGIL_SPARED, comma-separated) are sent to another name instead, so that
revoking sessions or keys or taking roles cannot end the run halfway. What such requests do is
tested in crates/vigil-server/tests/server/accounts.rs and rights.rs.
"""

import os

import schemathesis

SPARED = set(os.environ["VIGIL_SPARED"].split(","))


def _spared(path_parameters):
    if path_parameters and path_parameters.get("name") in SPARED:
        return {**path_parameters, "name": path_parameters["name"] + "-not"}
    return path_parameters


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    return _spared(path_parameters)


@schemathesis.hook
def map_case(ctx, case):
    case.path_parameters = _spared(case.path_parameters)
    return case
