#include "engine/model/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace pdserve::model {

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO named like a checkpoint file would otherwise
  // wait for a writer forever; it has no effect on a regular file.
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    std::string message = name + ": cannot open: " + std::strerror(err);
    return err == ENOENT ? not_found(message) : invalid_argument(message);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string message = name + ": cannot stat: " + std::strerror(errno);
    ::close(fd);
    return invalid_argument(message);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(name + ": not a regular file");
  }
  if (st.st_size <= 0) {
    ::close(fd);
    return invalid_argument(name + ": the file is empty");
  }
  auto size = static_cast<size_t>(st.st_size);
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);  // the mapping keeps the file open
  if (addr == MAP_FAILED) {
    return resource_exhausted(name + ": mmap of " + std::to_string(size) +
                              " bytes failed: " + std::strerror(map_errno));
  }
  return MappedFile(static_cast<const std::byte*>(addr), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  unmap();
}

void MappedFile::unmap() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace pdserve::model
