// Loads the normalizer, pre-tokenizer, post-processor and decoder of a
// tokenizer.json from the JSON text of each section ("null" or empty: none).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/pipeline.h"

namespace pdserve::tokenizer {

struct ComponentJson {
  std::string normalizer, pre_tokenizer, post_processor, decoder;
};

// Fills p.normalizer, p.pre_tokenizer, p.post_processor and p.decoder;
// appends to `post_ids` every id the post-processor can emit.
Status load_components(const ComponentJson& json, Pipeline& p, std::vector<int64_t>* post_ids);

}  // namespace pdserve::tokenizer
