// Reading the small JSON files of a checkpoint folder (config.json,
// generation_config.json, model.safetensors.index.json) with a size cap, so
// that an oversized or special file is refused before it is read.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "common/base/status.h"

namespace pdserve::model {

// The whole file as text. Fails, with a message starting "<display_name>: ",
// when the file is missing (kNotFound), not a regular file, larger than
// max_bytes, or unreadable.
Result<std::string> read_text_file(const std::filesystem::path& path, size_t max_bytes,
                                   const std::string& display_name);

}  // namespace pdserve::model
