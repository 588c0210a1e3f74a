#include "common/base/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pdserve {
namespace {

// Closes the descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::string> read_text_file(const std::filesystem::path& path, size_t max_bytes,
                                   const std::string& display_name) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; no effect on a
  // regular file.
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0) {
    const int err = errno;
    if (err == ENOENT) return not_found(display_name + ": file not found");
    return invalid_argument(display_name + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    return invalid_argument(display_name + ": cannot stat: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return invalid_argument(display_name + ": not a regular file");
  const auto size = static_cast<size_t>(st.st_size);
  if (size > max_bytes) {
    return invalid_argument(display_name + ": " + std::to_string(size) +
                            " bytes, larger than the limit of " + std::to_string(max_bytes));
  }
  std::string text(size, '\0');
  size_t done = 0;
  for (;;) {
    if (done == text.size()) {
      if (text.size() > max_bytes) {
        return invalid_argument(display_name + ": the file grew past the limit of " +
                                std::to_string(max_bytes) + " bytes while read");
      }
      // Room for more tells the end of the file from growth (or a size that
      // fstat does not know); never more than one byte past the limit.
      text.resize(std::min(max_bytes + 1, std::max(text.size() * 2, text.size() + 4096)));
    }
    const ssize_t n = ::read(file.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return invalid_argument(display_name + ": read failed: " + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

}  // namespace pdserve
