// The header of one safetensors file, parsed and checked against the file.
//
// Layout: u64 little-endian N, then N bytes of JSON, then the data section.
// The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets relative to the data section) and may hold "__metadata__",
// a string -> string map. The header is untrusted: everything below is
// checked before any size read from it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "engine/backend/dtype.h"

namespace pdserve::model {

// The largest header accepted, JSON part.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;
// The most tensors one file may list (the largest published checkpoints
// hold some 100k tensors in all, split over many files). Parsing is linear
// in the header's size; this bounds the memory a header's DOM takes.
inline constexpr uint64_t kMaxSafetensorsTensors = 131072;

struct SafetensorsTensor {
  std::string name;
  backend::DType dtype = backend::DType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets within the data section, begin <= end
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t data_offset = 0;                // where the data section starts in the file: 8 + N
  uint64_t data_size = 0;                  // file size - data_offset
  std::vector<SafetensorsTensor> tensors;  // sorted by name, names unique
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Parses the header of the file whose whole content is `file`. Fails with one
// line starting "<file_name>: " (and naming the tensor where there is one)
// when: the file is shorter than 8 bytes; N exceeds kMaxSafetensorsHeaderBytes
// or runs past the end of the file; the JSON is invalid, nested deeper than
// the schema, has a duplicate key, lists more than kMaxSafetensorsTensors
// tensors, or is not of the schema (unknown fields
// included); __metadata__ is not string -> string; a dtype is not one of
// F32, F16, BF16, I32 (it is named); a shape entry is not a non-negative
// integer; the element count or byte size overflows; data_offsets are not two
// integers with begin <= end <= data section size; the byte length differs
// from dtype size * product(shape); two tensors' bytes overlap.
Result<SafetensorsHeader> parse_safetensors_header(std::span<const std::byte> file,
                                                   const std::string& file_name);

// The safetensors name of a dtype ("F32", "F16", "BF16", "I32").
const char* safetensors_dtype_name(backend::DType dtype);

}  // namespace pdserve::model
