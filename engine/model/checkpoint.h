// A Hugging Face checkpoint's tensors: model.safetensors, or the shards named
// by model.safetensors.index.json, memory-mapped read-only.
//
// Safetensors headers are untrusted input. open() checks, before anything
// is allocated from them: header length within a cap and inside the file,
// valid JSON of the safetensors schema, known dtypes (F32, F16, BF16, I32),
// data_offsets inside the data section, begin <= end, no two tensors
// overlapping, bytes == dtype size * product(shape), no overflow; for a
// sharded checkpoint, every shard named by the index exists and holds the
// tensors the index says it does. Each failure is one line naming the file
// and the tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "engine/backend/dtype.h"

namespace pdserve::model {

// One tensor of a checkpoint. `data` points into a mapping owned by the
// Checkpoint it came from and is valid while that Checkpoint lives.
struct TensorView {
  std::string name;
  backend::DType dtype = backend::DType::kF32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t nbytes = 0;
  std::string file;  // the safetensors file it lives in (for messages)

  int64_t numel() const;
};

class Checkpoint {
 public:
  // Opens dir/model.safetensors.index.json when present, else
  // dir/model.safetensors.
  static Result<Checkpoint> open(const std::filesystem::path& dir);

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  // nullptr when absent.
  const TensorView* find(std::string_view name) const;
  const std::vector<TensorView>& tensors() const { return tensors_; }
  size_t total_bytes() const;
  // The file that lists the tensors, for messages about one that is absent:
  // "model.safetensors" or "model.safetensors.index.json".
  const std::string& source() const { return source_; }

 private:
  struct Mapping;
  Checkpoint();
  std::string source_;
  std::vector<std::unique_ptr<Mapping>> mappings_;
  std::vector<TensorView> tensors_;  // sorted by name
};

}  // namespace pdserve::model
