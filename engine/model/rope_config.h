// RoPE settings of config.json, in both styles transformers writes:
//   4.x: top-level "rope_theta" and a "rope_scaling" object (or null);
//   5.x: a "rope_parameters" object holding rope_theta, rope_type, factor...
// The scaling type is read from "rope_type" or the older "type"; "default"
// means no scaling. Defaults follow transformers' modeling_rope_utils: yarn's
// beta_fast 32, beta_slow 1, truncate true; yarn's and dynamic's
// original_max_position_embeddings default to max_position_embeddings.
//
// Internal to engine/model (takes json_reader::FieldReader).
#pragma once

#include "common/base/status.h"
#include "common/json/json_reader.h"
#include "engine/model/model_config.h"

namespace pdserve::model {

struct RopeSettings {
  double theta = 10000.0;
  RopeScaling scaling;
};

// Fails, naming the field, on an unknown or missing scaling type, a missing
// or non-positive factor, missing llama3 parameters, high_freq_factor <=
// low_freq_factor, or per-layer-type rope_parameters.
Result<RopeSettings> parse_rope_settings(const json_reader::FieldReader& config,
                                         int max_position_embeddings);

}  // namespace pdserve::model
