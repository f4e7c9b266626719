//! vigil-server's integration tests: the HTTP API against a real server on 127.0.0.1:0, and the
//! `vigil` binary's verbs on real SQLite files.

mod accounts;
mod alerts;
mod annotations;
mod api;
mod cli;
mod completeness;
mod export;
mod export_proof;
mod fakes;
mod integrity;
mod live;
mod rights;
mod security;
mod support;
mod tamper;
