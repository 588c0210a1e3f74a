// Test support for engine/model: a temporary folder that cleans up after
// itself, a tiny safetensors writer (well-formed files from tensor specs, or
// raw header text for malformed ones), and a check that a Status failed with
// a given code and a one-line message holding a given substring.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace pdserve::model::testing {

inline std::filesystem::path fixture_dir(const std::string& name) {
  return std::filesystem::path(PDSERVE_SOURCE_DIR) / "tests" / "fixtures" / name;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh folder under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pdserve_model_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, std::string_view bytes) const {
    write_file(path_ / name, bytes);
  }
  // Copies every file of a committed fixture folder here.
  void copy_fixture(const std::string& name) const {
    for (const auto& entry : std::filesystem::directory_iterator(fixture_dir(name))) {
      std::filesystem::copy_file(entry.path(), path_ / entry.path().filename());
    }
  }

 private:
  std::filesystem::path path_;
};

// u64 little-endian length, the header text, then `data_bytes` bytes.
inline std::string raw_safetensors(std::string_view header, size_t data_bytes = 0) {
  std::string out(8, '\0');
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out.append(header);
  out.append(data_bytes, '\x5a');
  return out;
}

// The 8-byte length prefix alone, claiming `header_len` bytes of header.
inline std::string length_prefix(uint64_t header_len) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header_len >> (8 * i)) & 0xff);
  return out;
}

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype = "F32";
};

inline size_t safetensors_dtype_bytes(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  ADD_FAILURE() << "test writer: unknown dtype " << dtype;
  return 1;
}

// A well-formed safetensors file holding `tensors` back to back in the given
// order; the header is padded with spaces to 8 bytes as the reference writer
// does. Byte i of the data section is (i * 7) mod 251.
inline std::string safetensors_file(const std::vector<TensorSpec>& tensors,
                                    const std::string& metadata_json = "") {
  std::string header = "{";
  if (!metadata_json.empty()) header += "\"__metadata__\":" + metadata_json;
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    uint64_t n = safetensors_dtype_bytes(t.dtype);
    std::string shape = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) shape += ",";
      shape += std::to_string(t.shape[i]);
      n *= static_cast<uint64_t>(t.shape[i]);
    }
    shape += "]";
    if (header.size() > 1) header += ",";
    header += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":" + shape +
              ",\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + n) +
              "]}";
    offset += n;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::string out = raw_safetensors(header);
  for (uint64_t i = 0; i < offset; ++i) out.push_back(static_cast<char>((i * 7) % 251));
  return out;
}

// Success when `status` failed with `code` and a one-line message containing
// every one of `parts`.
inline ::testing::AssertionResult fails_with(const Status& status, StatusCode code,
                                             std::initializer_list<std::string_view> parts) {
  if (status.ok()) return ::testing::AssertionFailure() << "succeeded, expected a failure";
  const std::string& m = status.message();
  if (status.code() != code) {
    return ::testing::AssertionFailure() << "code " << status_code_name(status.code())
                                         << ", expected " << status_code_name(code) << ": " << m;
  }
  if (m.find('\n') != std::string::npos || m.find('\r') != std::string::npos) {
    return ::testing::AssertionFailure() << "message is not one line: " << m;
  }
  for (std::string_view part : parts) {
    if (m.find(part) == std::string::npos) {
      return ::testing::AssertionFailure() << "message lacks \"" << part << "\": " << m;
    }
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult fails_with(const Status& status,
                                             std::initializer_list<std::string_view> parts) {
  return fails_with(status, StatusCode::kInvalidArgument, parts);
}

}  // namespace pdserve::model::testing
