// The runner's structured-output vocabulary: the model folder's
// tokenizer.json turned into token bytes (tokenizer/token_bytes.h) and a
// grammar compiler over them, so that workers follow the constraints
// requests carry. The binary does this because it is the floor that sees
// both the tokenizer and the engine.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "common/base/status.h"
#include "structured/grammar_compiler.h"

namespace pdserve::cli {

// Fails when the folder has no tokenizer.json, it does not load, or its
// tokens do not map back to bytes (not a byte-level tokenizer).
// `stop_token_ids`: the model's eos ids, allowed once an output is complete.
Result<std::shared_ptr<structured::GrammarCompiler>> load_grammar_compiler(
    const std::filesystem::path& model_dir, const std::vector<int32_t>& stop_token_ids);

}  // namespace pdserve::cli
