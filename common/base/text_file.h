// Reading small files that come from outside (a checkpoint's config.json,
// generation_config.json, model.safetensors.index.json, tokenizer.json,
// tokenizer_config.json, chat templates) with a size cap: a file that is not
// a regular file (a FIFO, /dev/zero, a directory) or is larger than the cap
// is refused before anything is read, and one that grows while read is
// refused at the cap. The checks are made on the opened file (fstat), not
// on the path, so a swapped path cannot slip past them.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "common/base/status.h"

namespace pdserve {

// The whole file as text. Fails, with a message starting "<display_name>: ",
// when the file is missing (kNotFound), not a regular file, larger than
// max_bytes, or unreadable (kInvalidArgument).
Result<std::string> read_text_file(const std::filesystem::path& path, size_t max_bytes,
                                   const std::string& display_name);

}  // namespace pdserve
