// A file memory-mapped read-only, for checkpoint tensors. The mapping lives as
// long as the MappedFile; moving keeps it, destruction unmaps it. The bytes
// must not be written (PROT_READ). A file truncated by another process while
// mapped makes reads past the new end fault (SIGBUS); checkpoints are assumed
// not to change while served.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

#include "common/base/status.h"

namespace pdserve::model {

class MappedFile {
 public:
  // Fails, naming the path, when the file is missing, not a regular file,
  // empty, or cannot be mapped.
  static Result<MappedFile> open(const std::filesystem::path& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  MappedFile(const std::byte* data, size_t size) : data_(data), size_(size) {}
  void unmap();

  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pdserve::model
