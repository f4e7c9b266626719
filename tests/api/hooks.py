"""Schemathesis hooks for scripts/test-api: the credentials the run uses are left alone.

Generated and linked requests may name any user or ingest key; those that name the run's own
account or key (VIGIL_SPARED, comma-separated) are sent to another name instead, so that
revoking sessions or keys or taking roles cannot end the run halfway. What such requests do is
tested in crates/vigil-server/tests/server/accounts.rs and rights.rs.
"""

import ast
import os
import threading

import schemathesis

# CPython 3.11 (Debian 12) counts the depth of `ast.parse` in one place per interpreter, so two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905). Hypothesis parses the source of lambdas to describe them, and the run
# uses two workers, so the parses are taken one at a time.
_parse = ast.parse
_parsing = threading.RLock()


def _parse_alone(*args, **kwargs):
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_alone

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
