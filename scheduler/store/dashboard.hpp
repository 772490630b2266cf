#pragma once
// Read models the browser dashboard needs beyond the plain resources (issue 20). Each function
// takes a transaction it does not commit; safe on any thread that owns the connection.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

// The newest event id (0 when there is none): where a live view that has just loaded its list
// starts following /api/v1/events, instead of replaying the whole history.
int64_t last_event_id(Tx& tx);

// The pipeline grid (Airflow's grid view) of `pipeline`: its last `runs` runs (newest first) and
// their tasks' states, one row per run and one column per task of the newest run, in spec order:
// {"pipeline", "tasks": [name...], "runs": [{"id", "state", "created_at", "duration_ms",
// "cells": [state or null...]}]}. HPO trials are left out. nullopt: no such pipeline.
std::optional<boost::json::object> pipeline_grid(Tx& tx, const std::string& pipeline, int runs);

}  // namespace ctflow::store
