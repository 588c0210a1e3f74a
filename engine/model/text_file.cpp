#include "engine/model/text_file.h"

#include <fstream>
#include <iterator>
#include <system_error>

namespace pdserve::model {

Result<std::string> read_text_file(const std::filesystem::path& path, size_t max_bytes,
                                   const std::string& display_name) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return not_found(display_name + ": file not found");
  }
  if (!std::filesystem::is_regular_file(status)) {
    return invalid_argument(display_name + ": not a regular file");
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return invalid_argument(display_name + ": cannot read its size: " + ec.message());
  if (size > max_bytes) {
    return invalid_argument(display_name + ": " + std::to_string(size) +
                            " bytes, larger than the limit of " + std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument(display_name + ": cannot open for reading");
  std::string text;
  text.reserve(static_cast<size_t>(size));
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad() || text.size() > max_bytes) {
    return invalid_argument(display_name + ": read failed or the file grew past the limit");
  }
  return text;
}

}  // namespace pdserve::model
